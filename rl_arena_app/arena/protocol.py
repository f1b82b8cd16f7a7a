"""Referee ↔ agent wire protocol: one JSON object per line, numpy arrays carried as base64.

This module is copied into every agent sandbox next to the harness, so it may import only the
standard library and numpy.

Messages (protocol version 1):
  agent → referee  {"t": "ready", "v": 1}                      harness loaded the agent
  referee → agent  {"t": "act", "obs": ..., "info": {...}}    "reset": {...} on a game's first move
  agent → referee  {"t": "action", "a": ...}
  agent → referee  {"t": "error", "kind": "crash"|"resource_limit", "detail": "..."}
  referee → agent  {"t": "bye"}
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 4 * 1024 * 1024
_ND = "__nd__"


def _default(value: Any) -> Any:
    """Encode what plain JSON cannot: numpy arrays, scalars and tuples-in-disguise."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return {_ND: [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode()]}
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _object_hook(obj: dict[str, Any]) -> Any:
    """Restore numpy arrays encoded by `_default`."""
    if _ND in obj and len(obj) == 1:
        dtype, shape, payload = obj[_ND]
        return np.frombuffer(base64.b64decode(payload), dtype=np.dtype(dtype)).reshape(shape).copy()
    return obj


_encoder = json.JSONEncoder(default=_default, separators=(",", ":"), allow_nan=True)
_decoder = json.JSONDecoder(object_hook=_object_hook)


def encode(message: dict[str, Any]) -> bytes:
    """Serialise one message to a newline-terminated line."""
    return _encoder.encode(message).encode() + b"\n"


def decode(line: bytes) -> Any:
    """Parse one line (without its newline) into a message; raises ValueError on garbage."""
    return _decoder.decode(line.decode())
