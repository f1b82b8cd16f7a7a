"""Floods stdout and stderr with ~20 MB at import (print and raw fd writes); then plays legally."""

import os
import random
import sys

import numpy as np

LINE = "flood " * 15 + "\n"  # 91 characters
LINES = (5 << 20) // len(LINE)

for _ in range(LINES):
    print(LINE, end="")
print(LINE * LINES, file=sys.stderr)
block = (LINE * 11523).encode()  # ~1 MB
for fd in (1, 2):
    for _ in range(5):
        os.write(fd, block)


def act(observation, info):
    return random.choice(np.flatnonzero(info["action_mask"]).tolist())
