"""Waiting for what another thread or process does: poll until it is so, or fail in time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout_s: float, what: str, poll_s: float = 0.1) -> T:
    """Poll ``predicate`` until it returns a truthy value; that value."""
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what} ({timeout_s} s)"
        time.sleep(poll_s)
    return value


def seconds_until(condition: Callable[[], object], timeout_s: float, what: str) -> float:
    """Poll ``condition`` until it is true; the seconds it took."""
    started = time.monotonic()
    wait_for(condition, timeout_s, what, poll_s=0.05)
    return time.monotonic() - started
