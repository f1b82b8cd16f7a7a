"""Kaggle twin of protocol_garbage, arity 1: writes garbage on every socket it holds, then plays."""

import os


def sockets():
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                yield int(name)
        except OSError:  # the descriptor listdir used, closed since
            continue


def agent(observation):
    for descriptor in sockets():
        os.write(descriptor, b"garbage\n")
    return observation.board.index(0)
