"""Content-addressed store of agent uploads: a canonical tar.gz named by the bundle's digest."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

from rl_arena_app.arena.bundle import AgentBundle, load_bundle


def artifact_path(root: Path, digest: str) -> Path:
    """Where the artifact with ``digest`` lives under ``root``."""
    return root / digest[:2] / f"{digest}.tar.gz"


def canonical_archive(bundle: AgentBundle) -> bytes:
    """The bundle's files as a reproducible tar.gz (sorted, zero mtimes, no owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT,
                      compresslevel=6) as tar:
        for name, content in sorted(bundle.files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def store_bundle(root: Path, bundle: AgentBundle) -> str:
    """Store the bundle (once per content) and return its digest."""
    path = artifact_path(root, bundle.digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(canonical_archive(bundle))
            os.replace(tmp, path)  # atomic: readers never see half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return bundle.digest


def load_artifact(root: Path, digest: str, env_id: str) -> AgentBundle:
    """Load a stored artifact back into a bundle (through the same safety checks)."""
    return load_bundle(str(artifact_path(root, digest)), env_id=env_id)
