"""Fills its temporary folder until the write cap refuses, and raises LEAK if a game starts
with anything already in it from an earlier process."""

import os
import random
import tempfile

CHUNK = b"x" * (1 << 20)
LIMIT_MB = 80  # above the sandbox's 64 MB tmpfs: the cap must refuse first
filled = False


def fill():
    folder = os.path.join(tempfile.gettempdir(), "filler")
    os.makedirs(folder, exist_ok=True)
    for index in range(LIMIT_MB):
        try:
            with open(os.path.join(folder, f"{index}.bin"), "wb") as fh:
                fh.write(CHUNK)
        except OSError:
            return
    os.chmod(folder, 0)  # and make the cleanup's life hard


def act(observation, info):
    global filled
    if not filled:
        left = os.listdir(tempfile.gettempdir())
        if left:
            raise RuntimeError(f"LEAK: {left} left in the temporary folder")
        filled = True
        fill()
    return random.choice([i for i, ok in enumerate(info["action_mask"]) if ok])
