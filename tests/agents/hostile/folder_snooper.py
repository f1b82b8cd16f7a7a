"""Process sandbox: looks for other agents' private folders next to its own and raises LEAK if
it can list one or read the agent inside; raises NOOTHER when it finds none to try."""

import glob
import os
import random


def readable(folder):
    """Whether the folder can be listed or the agent in it read."""
    try:
        os.listdir(folder)
        return True
    except (PermissionError, FileNotFoundError):
        pass
    try:
        with open(os.path.join(folder, "agent", "agent.py")) as fh:
            fh.read()
        return True
    except (PermissionError, FileNotFoundError):
        return False


def snoop():
    mine = os.path.dirname(os.getcwd())
    others = [d for d in glob.glob(os.path.join(os.path.dirname(mine), "rl-arena-proc-*"))
              if d != mine]
    if not others:
        raise RuntimeError("NOOTHER: no other agent folder to try")
    for folder in others:
        if readable(folder):
            raise RuntimeError(f"LEAK: could read {folder}")


def act(observation, info):
    snoop()
    return random.choice([i for i, ok in enumerate(info["action_mask"]) if ok])
