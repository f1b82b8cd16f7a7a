"""Kaggle twin of output_flood: ~20 MB of debug output at import, as print and raw fd writes,
then random legal moves."""

import os
import random
import sys

ROW = "debug " * 15 + "\n"
for _ in range((5 << 20) // len(ROW)):
    sys.stdout.write(ROW)
sys.stderr.write(ROW * ((5 << 20) // len(ROW)))
for descriptor in (1, 2):
    os.write(descriptor, ROW.encode() * ((5 << 20) // len(ROW)))


def free_cells(board):
    return [cell for cell, mark in enumerate(board) if mark == 0]


def my_agent(observation, configuration):
    print("thinking about", observation.board)
    return random.choice(free_cells(observation.board))
