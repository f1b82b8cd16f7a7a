"""Kaggle twin of crash_at_import, a main.py archive: its helper module raises when imported."""

import crash_at_import  # noqa: F401 -- raises ValueError


def my_agent(observation, configuration):
    return observation.board.index(0)
