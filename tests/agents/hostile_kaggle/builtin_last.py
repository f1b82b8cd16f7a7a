"""The last callable is an imported builtin, os._exit: called with the observation."""

import random


def my_agent(observation, configuration):
    return random.choice([c for c, mark in enumerate(observation.board) if mark == 0])


from os import _exit  # noqa: E402, F401 -- last on purpose: Kaggle calls the last callable
