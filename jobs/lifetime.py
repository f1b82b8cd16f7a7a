"""Process lifetimes: tie a child's life to its parent's, end what children leave behind, and
tell whether a pid is alive."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Collection

import psutil

__all__ = ["become_subreaper", "die_with_parent", "end_strays", "reap_strays",
           "terminate_with_parent"]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
try:  # loaded once here: a forked child should not dlopen
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (no-op elsewhere)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, sig)


def terminate_with_parent() -> None:
    """For ``preexec_fn``: the child gets SIGTERM when its parent dies, even by SIGKILL."""
    die_with_parent(signal.SIGTERM)


def become_subreaper() -> None:
    """Adopt this process's orphaned descendants (not init), so it can end and reap them.

    A worker killed mid-match orphans its work horse; init may leave it a zombie for a while,
    and a zombie still holds its pid.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _strays(recursive: bool, own: Collection[int] = (),
            session: int | None = None) -> list[psutil.Process]:
    """Descendants of this process outside its session (or in ``session``), except ``own``.

    Supervised children each run in a session of their own, and nothing they start can join
    ours; what stays in our session (the embedded Redis) is not theirs to end.
    """
    ours = os.getsid(0)
    found = []
    for process in psutil.Process().children(recursive=recursive):
        with contextlib.suppress(ProcessLookupError):
            sid = os.getsid(process.pid)
            if process.pid not in own and sid != ours and session in (None, sid):
                found.append(process)
    return found


def reap_strays(own: Collection[int]) -> int:
    """Reap adopted children that have exited (not ``own``, which their owners reap); how many."""
    reaped = 0
    for process in _strays(recursive=False, own=own):
        with contextlib.suppress(ChildProcessError):
            reaped += os.waitpid(process.pid, os.WNOHANG)[0] != 0
    return reaped


def end_strays(session: int | None = None, timeout_s: float = 10.0) -> tuple[int, list[int]]:
    """SIGKILL and reap every descendant outside this session (or left in ``session``, that of
    a dead child): (how many were ended, pids left).

    For after supervised children are gone: what remains are their orphans (work horses, RQ's
    scheduler process), adopted by this subreaper as their parents die.
    """
    ended: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while strays := _strays(recursive=True, session=session):
        if time.monotonic() > deadline:
            return len(ended), [process.pid for process in strays]
        for process in strays:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(strays, timeout=0.2)  # reaps those that are our children by now
        ended.update(process.pid for process in strays)
    return len(ended), []
