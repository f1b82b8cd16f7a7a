"""Kaggle twin of slow_import: "loading a model" at import takes 30 s."""

import time


def load_weights():
    time.sleep(30)
    return [1.0] * 9


WEIGHTS = load_weights()


def my_agent(observation, configuration):
    return max(range(9), key=lambda cell: WEIGHTS[cell] * (observation.board[cell] == 0))
