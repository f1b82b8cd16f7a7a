"""Answers with a float infinity, which int() refuses (OverflowError)."""


def agent(observation):
    return float("inf")
