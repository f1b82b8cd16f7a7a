"""Sleeps through its move (and so through the end of its match), leaving a sleeping child."""

import os
import time


def act(observation, info):
    if os.fork() == 0:
        time.sleep(3600)
        os._exit(0)
    time.sleep(3600)
