"""An agent packed for upload on the submitter's machine (`rl-arena submit`): checked as an arena
checks it, a folder made into one canonical archive."""

from __future__ import annotations

import re
from pathlib import Path

from rl_arena_app.arena.bundle import BUILTIN_PREFIX, BundleLimits, load_bundle
from rl_arena_app.errors import BadInput
from rl_arena_app.services.storage import canonical_archive

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def pack_for_upload(path: Path, env_id: str) -> tuple[str, bytes]:
    """The file name and bytes to upload, checked as every arena checks them (the size is the
    arena's own limit: the caller checks it against what the arena says it takes)."""
    if str(path).startswith(BUILTIN_PREFIX):
        raise BadInput("built-in agents are the arena's own: submit your agent's file or folder")
    # Sizes up to what no arena would take: each arena's own limit is checked by the caller.
    packable = BundleLimits(max_upload_bytes=2**30, max_total_bytes=2**32)
    if path.is_dir():
        bundle = load_bundle(str(path), env_id=env_id, limits=packable)
        name = f"{_SAFE.sub('_', path.resolve().name)[:100] or 'agent'}.tar.gz"
        return name, canonical_archive(bundle)
    load_bundle(str(path), env_id=env_id, limits=packable)  # the server's checks, locally
    return path.name, path.read_bytes()
