"""A small per-process cache of what pages load, keyed by the live version they were loaded at.

Many tabs showing the same agent or match recompute their data when its topic moves; the first
one reads the database (in a thread, so the event loop never blocks), the others share it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from rl_arena_app.errors import BadInput

SIZE = 256
_entries: OrderedDict[tuple, Any] = OrderedDict()
_changes = itertools.count(1)


def change_number() -> int:
    """A number no earlier change had: a page keys its data with it after an action it took."""
    return next(_changes)


async def load(function: Callable[..., Any], *args: Any, version: Hashable = 0,
               **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, computed once per (arguments, version)."""
    key = (function.__module__, function.__qualname__, args, tuple(sorted(kwargs.items())),
           version)
    if key in _entries:
        _entries.move_to_end(key)
        return _entries[key]
    value = await asyncio.to_thread(function, *args, **kwargs)
    _entries[key] = value
    while len(_entries) > SIZE:
        _entries.popitem(last=False)
    return value


async def load_or_none(function: Callable[..., Any], *args: Any, version: Hashable = 0,
                       **kwargs: Any) -> Any:
    """Like ``load``, but None when the arguments name nothing (not found, bad input)."""
    try:
        return await load(function, *args, version=version, **kwargs)
    except BadInput:
        return None
