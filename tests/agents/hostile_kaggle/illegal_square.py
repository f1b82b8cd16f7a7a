"""Kaggle twin of illegal_square: an occupied cell when there is one, else cell 9 (off the board)"""


def occupied(board):
    return [cell for cell, mark in enumerate(board) if mark]


def my_agent(observation, configuration):
    taken = occupied(observation.board)
    return taken[0] if taken else configuration.rows * configuration.columns
