"""Content-addressed stores under the data dir: agent uploads and replays, named by digest."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from rl_arena_app.arena.bundle import AgentBundle, BundleLimits, bundle_from_bytes
from rl_arena_app.errors import BadInput


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


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` unless it is there (same name, same content), atomically."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)  # atomic: readers never see half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_bundle(root: Path, bundle: AgentBundle) -> str:
    """Store the bundle (once per content) and return its digest."""
    _write_once(artifact_path(root, bundle.digest), canonical_archive(bundle))
    return bundle.digest


REPLAYS = "replays"


def store_replay(data_dir: Path, replay: dict[str, Any]) -> str:
    """Store a replay as gzip JSON named by its SHA-256; the path relative to ``data_dir``.

    Relative, so the data dir can be mounted elsewhere (another container, a restored backup).
    """
    raw = json.dumps(replay, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest()
    relative = Path(REPLAYS) / digest[:2] / f"{digest}.json.gz"
    _write_once(data_dir / relative, gzip.compress(raw, mtime=0))
    return relative.as_posix()


def stored_file(data_dir: Path, relative: str) -> Path:
    """The file of a stored path (relative to the data dir; absolute paths are kept)."""
    return data_dir / relative


# A stored artifact was checked against the upload limits when it was accepted: loading it again
# must not refuse it under other limits (a canonical archive may be larger than the upload).
STORED_LIMITS = BundleLimits(max_upload_bytes=2**40, max_total_bytes=2**40, max_files=10**6)


def load_artifact(root: Path, digest: str, name: str) -> AgentBundle:
    """Load a stored artifact back into a bundle; messages name it ``name``, never its path."""
    try:
        data = artifact_path(root, digest).read_bytes()
    except FileNotFoundError:
        raise BadInput(f"the stored code of {name!r} is missing from the artifact store: "
                       "submit the agent again") from None
    return bundle_from_bytes(data, ref=name, kind="tgz", limits=STORED_LIMITS)
