"""`rl-arena web`: the dashboard's production server, on one port (pages, websocket and API).

The frontend is built once with `reflex export` (bun from the npm registry, see `make setup`)
and rebuilt only when what it is made of changes: the UI's sources, the assets, the Reflex
version, or what the build bakes in (the URL browsers use). Then one granian worker serves the
prebuilt files and the Reflex backend from this process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import version
from pathlib import Path

from rl_arena_app.errors import InfrastructureError
from rl_arena_app.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]  # where rxconfig.py is
TOOLS = ROOT / ".tools"
FINGERPRINT_FILE = ".rl-arena-build"
APP_TARGET = "rl_arena_app.rl_arena_app:app"
# Granian's own records go to the platform's handler (text or JSON, see rl_arena_app.logs).
GRANIAN_LOGS = {"loggers": {name: {"handlers": [], "propagate": True}
                            for name in ("_granian", "granian.access")}}
SOURCES = ("rxconfig.py", "rl_arena_app/rl_arena_app.py", "rl_arena_app/ui", "assets")


def toolchain_env(settings: Settings) -> dict[str, str]:
    """The environment Reflex runs in: bun from .tools first, its caches inside the checkout."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                   str(TOOLS / "node_modules" / ".bin"), env.get("PATH", "")])
    env.update(REFLEX_DIR=str(TOOLS / "reflex"), BUN_INSTALL=str(TOOLS / "bun-home"),
               BUN_RUNTIME_TRANSPILER_CACHE_PATH=str(TOOLS / "bun-home" / "transpiler-cache"),
               REFLEX_TELEMETRY_ENABLED="false", REFLEX_CHECK_LATEST_VERSION="false",
               REFLEX_API_URL=settings.web_url, REFLEX_DEPLOY_URL=settings.web_url,
               PYTHONUNBUFFERED="1")
    return env


def build_dir() -> Path:
    """Where Reflex puts the built frontend: .web/build/client, or under REFLEX_WEB_WORKDIR."""
    web = Path(os.environ.get("REFLEX_WEB_WORKDIR") or ".web")
    return (web if web.is_absolute() else ROOT / web) / "build" / "client"


def _files(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = ROOT / name
        found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [p for p in found if "__pycache__" not in p.parts]


def fingerprint(settings: Settings) -> str:
    """What the frontend build is made of: sources, assets, Reflex's version, the baked URL."""
    digest = hashlib.sha256(f"reflex {version('reflex')}\0{settings.web_url}\0".encode())
    for path in _files(SOURCES):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_frontend(settings: Settings, echo: Callable[[str], None] = print,
                   force: bool = False) -> bool:
    """Build the frontend unless the last build has the same fingerprint; whether it built."""
    wanted = fingerprint(settings)
    built = build_dir() / FINGERPRINT_FILE
    if not force and built.is_file() and built.read_text() == wanted:
        return False
    if shutil.which("bun", path=toolchain_env(settings)["PATH"]) is None:
        raise InfrastructureError("bun is not installed: run `make setup` (it installs bun from "
                                  "the npm registry into .tools)")
    echo(f"building the dashboard for {settings.web_url} (about 15 s, once per change)")
    done = subprocess.run(
        [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip",
         "--loglevel", "warning"], cwd=ROOT, env=toolchain_env(settings), capture_output=True,
        text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise InfrastructureError(f"building the dashboard failed:\n{tail}")
    built.write_text(wanted)
    return True


def serve(settings: Settings | None = None, echo: Callable[[str], None] = print) -> None:
    """Build if needed, then serve the dashboard until stopped."""
    from granian.constants import Interfaces
    from granian.server import Server

    settings = settings or get_settings()
    if not (ROOT / "rxconfig.py").is_file():
        raise InfrastructureError(f"the dashboard's sources are not here ({ROOT}): run it from a "
                                  "checkout of the repository")
    build_frontend(settings, echo)
    env = toolchain_env(settings)
    env.update(REFLEX_ENV_MODE="prod", __REFLEX_SKIP_COMPILE="true",
               __REFLEX_MOUNT_FRONTEND_COMPILED_APP="true")
    os.environ.update(env)
    os.chdir(ROOT)
    echo(f"dashboard at {settings.web_url} (listening on {settings.web_host}:"
         f"{settings.web_port})")
    Server(target=APP_TARGET, factory=True, address=settings.web_host, port=settings.web_port,
           interface=Interfaces.ASGI, workers=1, log_access=False,
           log_dictconfig=GRANIAN_LOGS).serve()
