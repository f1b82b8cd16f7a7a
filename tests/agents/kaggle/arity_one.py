"""Arity 1 with attribute access: a Kaggle agent that takes only the observation."""


def first_free_column(board, columns=7):
    return next(c for c in range(columns) if board[c] == 0)


def agent(observation):
    return first_free_column(observation.board)
