"""Searches the filesystem and /proc (~3 s) for the opponent's source marker."""

import os
import random
import stat
import time

import numpy as np

MARKER = "-".join(["OPPONENT", "SECRET", ""]).encode()  # never spelled out in this file
BUDGET_S = 3.0
FIRST = ["/run", "/tmp", "/agent", "/opt", "/home", "/root", "/mnt", "/srv", "/var", "/"]


def _escape(where):
    raise RuntimeError(f"ESCAPE: opponent marker found in {where}")


def _check_file(path, limit=4 << 20):
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit)
    except OSError:
        return
    if MARKER in data:
        _escape(path)


def _search_proc(me):
    for pid in (p for p in os.listdir("/proc") if p.isdigit() and int(p) != me):
        for name in ("cmdline", "environ", "maps"):
            _check_file(f"/proc/{pid}/{name}")
        for folder in (f"/proc/{pid}/root/agent", f"/proc/{pid}/cwd"):  # another's /agent
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                _check_file(os.path.join(folder, name))


def _walk(deadline):
    seen = set()
    for top in FIRST:
        for folder, dirs, files in os.walk(top):
            if folder in ("/proc", "/sys") or folder in seen:
                dirs[:] = []
                continue
            seen.add(folder)
            for name in files:
                if time.monotonic() > deadline:
                    return
                path = os.path.join(folder, name)
                try:
                    regular = stat.S_ISREG(os.lstat(path).st_mode)
                except OSError:
                    continue
                if regular:  # devices such as /dev/ptmx would block a read
                    _check_file(path)


def search():
    deadline = time.monotonic() + BUDGET_S
    _search_proc(os.getpid())
    _walk(deadline)


searched = False


def act(observation, info):
    global searched
    if not searched:
        searched = True
        search()
    return random.choice(np.flatnonzero(info["action_mask"]).tolist())
