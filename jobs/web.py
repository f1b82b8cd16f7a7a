"""`rl-arena web`: the dashboard's production server, on one port (pages, websocket and API).

The frontend is built once with `reflex export` (bun from the npm registry, see `make setup`)
and rebuilt only when what it is made of changes: the UI's sources, the assets or the Reflex
version. The URL browsers use is not part of it: each start writes the configured one into the
build (jobs.frontend_url), so one build (one image) serves any deployment. Then one granian
worker serves the prebuilt files and the Reflex backend from this process.

The app folder holds rxconfig.py, assets/ and the build (.web/): the checkout this package lives
in, or, for an installed (non-editable) package such as the app image's, the current directory.
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

import rl_arena_app
from jobs.frontend_url import retarget
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.settings import Settings, get_settings

CHECKOUT = Path(__file__).resolve().parents[1]  # the repository, when installed editable
PACKAGE = Path(rl_arena_app.__file__).resolve().parent
FINGERPRINT_FILE = ".rl-arena-build"
APP_TARGET = "rl_arena_app.rl_arena_app:app"
# Granian's own records go to the platform's handler (text or JSON, see rl_arena_app.logs).
GRANIAN_LOGS = {"loggers": {name: {"handlers": [], "propagate": True}
                            for name in ("_granian", "granian.access")}}
APP_SOURCES = ("rxconfig.py", "assets")  # what the build is made of, in the app folder
PACKAGE_SOURCES = ("rl_arena_app.py", "ui")  # and in the installed package


def app_dir() -> Path:
    """The folder with rxconfig.py: the checkout, else the current directory."""
    for folder in (CHECKOUT, Path.cwd()):
        if (folder / "rxconfig.py").is_file():
            return folder
    raise InfrastructureError("the dashboard's rxconfig.py is neither in the checkout nor in the "
                              "current directory: run it from a checkout of the repository (the "
                              "app image runs it in /app)")


def toolchain_env(settings: Settings) -> dict[str, str]:
    """The environment Reflex runs in: bun from .tools first, its caches inside the app folder."""
    tools = app_dir() / ".tools"
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                   str(tools / "node_modules" / ".bin"), env.get("PATH", "")])
    env.update(REFLEX_DIR=str(tools / "reflex"), BUN_INSTALL=str(tools / "bun-home"),
               BUN_RUNTIME_TRANSPILER_CACHE_PATH=str(tools / "bun-home" / "transpiler-cache"),
               REFLEX_TELEMETRY_ENABLED="false", REFLEX_CHECK_LATEST_VERSION="false",
               REFLEX_API_URL=settings.web_url, REFLEX_DEPLOY_URL=settings.web_url,
               PYTHONUNBUFFERED="1")
    return env


def build_dir() -> Path:
    """Where Reflex puts the built frontend: .web/build/client, or under REFLEX_WEB_WORKDIR."""
    web = Path(os.environ.get("REFLEX_WEB_WORKDIR") or ".web")
    return (web if web.is_absolute() else app_dir() / web) / "build" / "client"


def _files(folder: Path, names: Iterable[str], shown_as: str) -> list[tuple[str, Path]]:
    """Each file under ``folder``'s ``names`` with its name as the fingerprint records it (the
    same for a checkout and an installed package)."""
    found: list[Path] = []
    for name in names:
        path = folder / name
        found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(f"{shown_as}{p.relative_to(folder).as_posix()}", p) for p in found
            if "__pycache__" not in p.parts]


def fingerprint() -> str:
    """What the frontend build is made of: the UI's sources, the assets, Reflex's version."""
    digest = hashlib.sha256(f"reflex {version('reflex')}\0".encode())
    for name, path in (_files(app_dir(), APP_SOURCES, "")
                       + _files(PACKAGE, PACKAGE_SOURCES, "rl_arena_app/")):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_frontend(settings: Settings, echo: Callable[[str], None] = print,
                   force: bool = False) -> bool:
    """Build the frontend unless the last build has the same fingerprint; whether it built."""
    wanted = fingerprint()
    built = build_dir() / FINGERPRINT_FILE
    if not force and built.is_file() and built.read_text() == wanted:
        return False
    if shutil.which("bun", path=toolchain_env(settings)["PATH"]) is None:
        raise InfrastructureError("bun is not installed: run `make setup` (it installs bun from "
                                  "the npm registry into .tools)")
    echo("building the dashboard (about 15 s, once per change)")
    done = subprocess.run(
        [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip",
         "--loglevel", "warning"], cwd=app_dir(), env=toolchain_env(settings), capture_output=True,
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
    root = app_dir()
    build_frontend(settings, echo)
    if retarget(build_dir(), settings.web_url):
        echo(f"the dashboard now names {settings.web_url}")
    env = toolchain_env(settings)
    env.update(REFLEX_ENV_MODE="prod", __REFLEX_SKIP_COMPILE="true",
               __REFLEX_MOUNT_FRONTEND_COMPILED_APP="true")
    os.environ.update(env)
    os.chdir(root)
    echo(f"dashboard at {settings.web_url} (listening on {settings.web_host}:"
         f"{settings.web_port})")
    Server(target=APP_TARGET, factory=True, address=settings.web_host, port=settings.web_port,
           interface=Interfaces.ASGI, workers=1, log_access=False,
           log_dictconfig=GRANIAN_LOGS).serve()
