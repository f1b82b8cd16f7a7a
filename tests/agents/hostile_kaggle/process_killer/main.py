"""Kaggle twin of process_killer, a main.py archive: the agent kills all it can on every move."""

import random

from process_killer import attack


def my_agent(observation, configuration):
    attack()
    return random.choice([c for c, mark in enumerate(observation.board) if mark == 0])
