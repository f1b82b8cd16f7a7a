"""Processes of this host, as every layer needs to know them (a worker's, a sandbox owner's)."""

from __future__ import annotations

import psutil


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (a zombie, dead but unreaped, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
