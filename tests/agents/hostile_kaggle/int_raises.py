"""Answers with an object whose __int__ raises (not a TypeError or ValueError)."""


class Move:
    def __int__(self):
        raise RuntimeError("no int for you")


def my_agent(observation, configuration):
    return Move()
