"""Kaggle twin of secret_search, a main.py archive: the agent's first move searches ~3 s for the
opponent's source marker."""

import random

from secret_search import search

done = []


def my_agent(observation, configuration):
    if not done:
        done.append(True)
        search()
    return random.choice([c for c, mark in enumerate(observation.board) if mark == 0])
