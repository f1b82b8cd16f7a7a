"""Starter agent for tictactoe: win if you can, block if you must, else take the best free cell.

Save as agent.py and try it locally:
    rl-arena play tictactoe agent.py builtin:random --sandbox process

The observation is a numpy int8 array of shape (3, 3, 2): observation[row, col, 0] is 1 where
YOU (the player to move) have a mark, observation[row, col, 1] where your opponent has one.
Action a is the cell at row a // 3, column a % 3:

    0 | 1 | 2
    3 | 4 | 5
    6 | 7 | 8

info["action_mask"][a] is 1 when cell a is free. Playing an occupied cell forfeits the game.
"""

import numpy as np

# The 8 lines of three cells (rows, columns, diagonals), as action numbers.
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
# Cells by how useful they are on their own: the centre, then corners, then edges.
TIERS = [[4], [0, 2, 6, 8], [1, 3, 5, 7]]


def completes_line(marks, cell):
    """Whether putting a mark on `cell` gives three in a row to the owner of `marks`."""
    return any(cell in line and sum(marks[c] for c in line if c != cell) == 2 for line in LINES)


class Agent:
    """Takes a winning cell, else blocks one, else the best free cell; ties broken at random."""

    def __init__(self, seed=0):
        self.reset({"seed": seed})  # the referee resets again before every game

    def reset(self, info):
        """Seeds the tie-breaks from info["seed"], so that every game replays identically."""
        self.tie_breaker = np.random.default_rng(info["seed"])

    def act(self, observation, info):
        mine = observation[:, :, 0].ravel()  # 9 cells, same numbering as the actions
        theirs = observation[:, :, 1].ravel()
        legal = [int(a) for a in np.flatnonzero(info["action_mask"])]
        for marks in (mine, theirs):  # first a winning cell, then one that stops their win
            for cell in legal:
                if completes_line(marks, cell):
                    return cell
        for tier in TIERS:
            free = [cell for cell in tier if cell in legal]
            if free:
                return int(self.tie_breaker.choice(free))
        return legal[0]
