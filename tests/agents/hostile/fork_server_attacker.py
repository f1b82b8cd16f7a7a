"""Attacks its parent (the fork server, or the harness's parent) on its first move.

MODE is rewritten by the tests: "ptrace" (attach must fail, or ESCAPE), "term" (SIGTERM, HUP and
INT must be ignored), "stop" (SIGSTOP: the server freezes), "kill" (SIGKILL: the server dies).
"""

import ctypes
import os
import random
import signal

MODE = "ptrace"
PTRACE_ATTACH = 16
attacked = False


def attack():
    parent = os.getppid()
    if MODE == "ptrace":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(PTRACE_ATTACH, parent, None, None) == 0:
            raise RuntimeError(f"ESCAPE: ptrace attached to pid {parent}")
    elif MODE == "term":
        for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            os.kill(parent, number)
    elif MODE == "stop":
        os.kill(parent, signal.SIGSTOP)
    elif MODE == "kill":
        os.kill(parent, signal.SIGKILL)


def act(observation, info):
    global attacked
    if not attacked:
        attacked = True
        attack()
    return random.choice([i for i, ok in enumerate(info["action_mask"]) if ok])
