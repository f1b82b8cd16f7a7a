"""Finds the harness's socket to the referee and writes garbage on it before answering."""

import os

import numpy as np


def act(observation, info):
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the descriptor listdir used, closed since
            continue
        if target.startswith("socket:"):
            os.write(int(name), b"garbage\n")
    return int(np.flatnonzero(info["action_mask"])[0])
