"""Attacks the start-up allowance: importing agent.py takes 30 s."""

import time

time.sleep(30)


def act(observation, info):
    return 0
