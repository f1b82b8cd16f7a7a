"""Leaves traces of itself and raises LEAK when a game starts with traces already there.

Traces: a file in its temporary folder, a module-level counter, a double-forked daemon and a
System V shared memory segment. Within one process the second game must find them all (the
control); a fresh agent process of a later match must find none.
"""

import ctypes
import os
import random
import tempfile
import time

IPC_CREAT = 0o1000
MARK = os.path.join(tempfile.gettempdir(), "state_keeper.mark")
SHM_KEY = 0x5EED0000 + (os.getuid() & 0xFFFF)
libc = ctypes.CDLL(None, use_errno=True)
games = 0
found: list[str] = []


def other_processes():
    """Processes of this uid besides this one, its parent (the harness or fork server) and init."""
    mine = {1, os.getpid(), os.getppid()}
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in mine:
            try:
                if os.stat(f"/proc/{entry}").st_uid == os.getuid():
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def traces():
    seen = []
    if os.path.exists(MARK):
        seen.append("file")
    if games:
        seen.append(f"module counter {games}")
    if other_processes():
        seen.append(f"processes {other_processes()}")
    if libc.shmget(SHM_KEY, 0, 0) != -1:
        seen.append("shared memory")
    return seen


def leave_traces():
    with open(MARK, "w") as fh:
        fh.write("here")
    libc.shmget(SHM_KEY, 4096, IPC_CREAT | 0o600)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(1)
        os._exit(0)
    os.wait()


def reset(info):
    global games
    found[:] = traces()
    games += 1
    leave_traces()


def act(observation, info):
    if found:
        raise RuntimeError("LEAK: " + ", ".join(found))
    return random.choice([i for i, ok in enumerate(info["action_mask"]) if ok])
