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
import functools
import json
from typing import Any

import numpy as np

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 4 * 1024 * 1024
_ND = "__nd__"


def pack(value: Any) -> Any:
    """Replace numpy arrays and scalars with plain JSON values, through dicts and lists."""
    kind = type(value)
    if kind is np.ndarray:
        data = np.ascontiguousarray(value)
        return {_ND: [data.dtype.str, data.shape, base64.b64encode(data.tobytes()).decode()]}
    if kind is dict:
        return {k: pack(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [pack(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@functools.lru_cache(maxsize=64)
def _dtype(name: str) -> np.dtype:
    """numpy dtype from its string form; refuses object arrays, which carry no data."""
    dtype = np.dtype(name)
    if dtype.hasobject:
        raise ValueError("object arrays cannot cross the wire")
    return dtype


def unpack(value: Any) -> Any:
    """Restore the numpy arrays that `pack` encoded."""
    kind = type(value)
    if kind is dict:
        if _ND in value:
            dtype, shape, payload = value[_ND]
            # A bytearray makes the array writable without a second copy.
            data = np.frombuffer(bytearray(base64.b64decode(payload)), dtype=_dtype(dtype))
            return data.reshape(shape)
        return {k: unpack(v) for k, v in value.items()}
    if kind is list:
        return [unpack(v) for v in value]
    return value


# No `default=` hook and no `object_hook`: both call back into Python for every value and
# roughly double the cost of a message; pack/unpack touch only the containers.
_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=True)
_decoder = json.JSONDecoder()


def encode(message: dict[str, Any]) -> bytes:
    """Serialise one message to a newline-terminated line."""
    return _encoder.encode(pack(message)).encode() + b"\n"


def decode(line: bytes) -> Any:
    """Parse one line (without its newline) into a message; raises ValueError on garbage."""
    return unpack(_decoder.decode(line.decode()))
