"""Kills every process it can reach: kill(-1), kill(1), then each pid in /proc; then plays."""

import contextlib
import os
import random
import signal

import numpy as np


def _escape(what):
    raise RuntimeError(f"ESCAPE: {what}")


def attack():
    me = os.getpid()
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    strangers = [p for p in pids if p not in (1, me, os.getppid())]
    # A private pid namespace holds only the init, the harness and, in a warm sandbox, the
    # harness's fork server (its parent).
    if strangers:
        _escape(f"sees other processes: {strangers[:10]}")
    for pid in [-1, 1, *pids]:
        if pid != me:
            with contextlib.suppress(PermissionError, ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def act(observation, info):
    attack()
    return random.choice(np.flatnonzero(info["action_mask"]).tolist())
