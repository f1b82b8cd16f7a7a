"""Attacks the memory limit: act() allocates and touches 1 GB."""

import numpy as np


def act(observation, info):
    hog = np.ones(1 << 30, dtype=np.uint8)  # np.ones writes every page
    return int(hog[0])
