"""Answers with a float NaN (a score that went wrong), which int() refuses."""


def score(board):
    return float("inf") - float("inf")


def my_agent(observation, configuration):
    return score(observation.board)
