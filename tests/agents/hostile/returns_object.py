"""Answers with an object that cannot be serialised to JSON."""


def act(observation, info):
    return object()
