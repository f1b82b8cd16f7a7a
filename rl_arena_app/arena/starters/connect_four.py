"""Starter agent for connect_four: win now, block their win, avoid setting one up, play central.

Save as agent.py and try it locally:
    rl-arena play connect_four agent.py builtin:random --sandbox process

The observation is a numpy int8 array of shape (6, 7, 2): observation[row, col, 0] is 1 where
YOU (the player to move) have a piece, observation[row, col, 1] where your opponent has one.
Row 0 is the TOP row and row 5 the bottom one, where pieces land first. The action is the
column (0 = leftmost .. 6) to drop a piece in; info["action_mask"][col] is 1 when it is not full.
Playing a full column forfeits the game.
"""

import numpy as np

ROWS, COLS = 6, 7
DIRECTIONS = [(0, 1), (1, 0), (1, 1), (1, -1)]  # horizontal, vertical and both diagonals


def landing_row(pieces, col):
    """The row a piece dropped in `col` comes to rest on (the lowest empty one), or -1 if full."""
    empty = np.flatnonzero(pieces[:, col] == 0)
    return int(empty[-1]) if empty.size else -1


def makes_four(stones, row, col):
    """Whether a stone at (row, col) gives four in a line to the owner of `stones`."""
    for dr, dc in DIRECTIONS:
        count = 1
        for sign in (1, -1):  # walk away from (row, col) both ways along the line
            r, c = row + sign * dr, col + sign * dc
            while 0 <= r < ROWS and 0 <= c < COLS and stones[r, c]:
                count += 1
                r, c = r + sign * dr, c + sign * dc
        if count >= 4:
            return True
    return False


class Agent:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def reset(self, info):
        """Called before the first move of every game; info["seed"] makes the game replayable."""
        self.rng = np.random.default_rng(info["seed"])

    def act(self, observation, info):
        mine, theirs = observation[:, :, 0], observation[:, :, 1]
        pieces = mine + theirs
        legal = [int(c) for c in np.flatnonzero(info["action_mask"])]
        rows = {col: landing_row(pieces, col) for col in legal}
        for stones in (mine, theirs):  # first a winning drop, then one that blocks their win
            for col in legal:
                if makes_four(stones, rows[col], col):
                    return col
        # A drop is unsafe when the cell right above it would complete four for the opponent.
        safe = [col for col in legal
                if rows[col] == 0 or not makes_four(theirs, rows[col] - 1, col)]
        candidates = safe or legal
        # Central columns belong to more lines of four: pick among the most central, at random.
        nearest = min(abs(col - 3) for col in candidates)
        central = [col for col in candidates if abs(col - 3) == nearest]
        return int(self.rng.choice(central))
