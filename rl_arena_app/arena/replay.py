"""Replay files: the run's full record as gzip-compressed JSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from rl_arena_app.arena.run import REPLAY_FORMAT, REPLAY_VERSION

TIMING_KEYS = frozenset({"time_s", "duration_s", "started_at"})


def write_replay(path: str | Path, replay: dict[str, Any]) -> Path:
    """Write a replay atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(replay, fh, separators=(",", ":"))
    tmp.replace(path)
    return path


def read_replay(path: str | Path) -> dict[str, Any]:
    """Read a replay, checking its format tag and version."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        replay = json.load(fh)
    if replay.get("format") != REPLAY_FORMAT or replay.get("format_version") != REPLAY_VERSION:
        raise ValueError(f"{path} is not an {REPLAY_FORMAT} v{REPLAY_VERSION} file")
    return replay


def without_timing(value: Any) -> Any:
    """The replay with wall-clock fields removed: what must match between identical runs."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value
