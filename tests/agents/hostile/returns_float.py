"""Answers with a float instead of an integer action."""


def act(observation, info):
    return 1.5
