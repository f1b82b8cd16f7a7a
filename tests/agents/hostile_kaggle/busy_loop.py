"""Kaggle twin of busy_loop: the agent counts forever and never answers."""

import itertools


def think(board):
    for _ in itertools.count():
        board = board[1:] + board[:1]
    return board.index(0)


def my_agent(observation, configuration):
    return think(observation["board"])
