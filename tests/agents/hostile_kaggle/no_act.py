"""Kaggle twin of no_act: data and a module, but nothing to call (a module is not callable)."""

import math

OPENING = 4
WEIGHTS = [math.sqrt(cell) for cell in range(9)]
