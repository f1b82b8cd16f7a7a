"""Answers with an object that has no __int__ and whose __index__ never returns."""


class Move:
    def __index__(self):
        while True:
            pass


def my_agent(observation, configuration):
    return Move()
