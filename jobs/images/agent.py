"""Per-agent images: base + harness + the agent's files + its wheels, cached by content hash."""

from __future__ import annotations

import hashlib
import io
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import docker
import docker.errors

from jobs.sandbox.harness import harness_files
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.outcomes import BadAgent, InfrastructureError

AGENT_REPOSITORY = "rl-arena/agent"
ENTRYPOINT = ('["python3", "-I", "-B", "/opt/rl-arena/harness.py", "--connect", '
              '"/run/arena/agent.sock", "--agent-dir", "/agent", "--deps", "/agent-deps"]')
DOCKERFILE = """\
FROM {base}
COPY harness/ /opt/rl-arena/
COPY agent/ /agent/
COPY deps/ /agent-deps/
USER 65534:65534
WORKDIR /agent
ENV PYTHONDONTWRITEBYTECODE=1 HOME=/tmp TMPDIR=/tmp OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
ENTRYPOINT {entrypoint}
"""
Progress = Callable[[str], None]


def install_requirements(requirements: str, target: Path, python_version: str) -> None:
    """Install binary wheels for the sandbox's Python into `target`, on the host."""
    arch = platform.machine()
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in (17, 28, 31, 34, 35, 36)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as req:
        req.write(requirements)
        req.flush()
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-input", "--only-binary=:all:", "--target", str(target),
                   "--python-version", python_version, "--implementation", "cp",
                   *[arg for p in platforms for arg in ("--platform", p)], "-r", req.name]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    message = " | ".join(tail)
    if "No matching distribution" in message or "Could not find a version" in message:
        raise BadAgent(f"requirements.txt cannot be installed as binary wheels for Python "
                       f"{python_version}: {message}")
    raise InfrastructureError(f"installing the agent's requirements failed: {message}")


def wheels_for(requirements: str, python_version: str, cache_root: Path) -> Path:
    """A folder with the requirements installed, built once per (requirements, Python) pair."""
    key = hashlib.sha256(f"{python_version}\0{requirements}".encode()).hexdigest()[:24]
    target = cache_root / key
    if not target.is_dir():
        cache_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_root))
        try:
            install_requirements(requirements, staging, python_version)
            staging.rename(target)
        except OSError:  # another process finished the same install first
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _add(tar: tarfile.TarFile, name: str, data: bytes | None) -> None:
    info = tarfile.TarInfo(name)
    info.uid = info.gid = 0
    info.mtime = 0
    if data is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    else:
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))


def _tree(root: Path) -> Iterable[tuple[str, bytes | None]]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            continue
        yield rel, None if path.is_dir() else path.read_bytes()


def build_context(bundle: AgentBundle, base: str, deps: Path | None) -> bytes:
    """The docker build context as an in-memory tar; every file root-owned, world-readable."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, "Dockerfile", DOCKERFILE.format(base=base, entrypoint=ENTRYPOINT).encode())
        for folder in ("harness", "agent", "deps"):
            _add(tar, folder, None)
        for name, data in harness_files().items():
            _add(tar, f"harness/{name}", data)
        dirs: set[str] = set()
        for name, data in sorted(bundle.files.items()):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                folder = "/".join(parts[:i])
                if folder not in dirs:
                    dirs.add(folder)
                    _add(tar, f"agent/{folder}", None)
            _add(tar, f"agent/{name}", data)
        if deps is not None:
            for name, data in _tree(deps):
                _add(tar, f"deps/{name}", data)
    return buf.getvalue()


def agent_image_tag(base_id: str, bundle: AgentBundle) -> str:
    """Tag derived from everything that goes into the image."""
    digest = hashlib.sha256(base_id.encode())
    for name, data in sorted(harness_files().items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(bundle.digest.encode())
    return f"{AGENT_REPOSITORY}:{digest.hexdigest()[:24]}"


def ensure_agent_image(
    client: docker.DockerClient,
    bundle: AgentBundle,
    base: str,
    python_version: str,
    progress: Progress = lambda _: None,
    wheel_cache: Path | None = None,
) -> str:
    """Return the agent's image tag, building it only when no image has that content hash."""
    try:
        base_id = client.images.get(base).id
    except docker.errors.ImageNotFound:
        raise InfrastructureError(f"agent base image {base} is missing: run "
                                  "`rl-arena images build-base` (or `make setup`)") from None
    tag = agent_image_tag(base_id, bundle)
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    deps = None
    if bundle.requirements and bundle.requirements.strip():
        progress(f"installing requirements of {bundle.ref} as wheels")
        cache = wheel_cache or Path(tempfile.gettempdir()) / "rl-arena-wheels"
        deps = wheels_for(bundle.requirements, python_version, cache)
    progress(f"building image {tag} for {bundle.ref}")
    context = build_context(bundle, base, deps)
    try:
        client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True,
                            forcerm=True, network_mode="none",
                            labels={"rl-arena.managed": "true", "rl-arena.agent": bundle.ref})
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise InfrastructureError(f"building the image for {bundle.ref} failed: {exc}") from None
    return tag
