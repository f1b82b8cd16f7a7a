"""Built-in baseline: perfect tic-tac-toe by memoised negamax (standalone agent.py: stdlib + numpy).

Action a is the cell at row a // 3, column a % 3 of the observation (PettingZoo fills the
(3, 3, 2) observation from its flat board with a plain reshape, so flat index == action).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_LINES = tuple(
    sum(1 << i for i in line)
    for line in (
        (0, 1, 2),
        (3, 4, 5),
        (6, 7, 8),
        (0, 3, 6),
        (1, 4, 7),
        (2, 5, 8),
        (0, 4, 8),
        (2, 4, 6),
    )
)
_FULL = (1 << 9) - 1
# Deterministic tie-break among equally good moves: centre, corners, then edges.
_ORDER = (4, 0, 2, 6, 8, 1, 3, 5, 7)
_CACHE: dict[tuple[int, int], int] = {}


def _won(bits: int) -> bool:
    """Whether these cells contain a full line."""
    return any(bits & line == line for line in _LINES)


def _value(me: int, opp: int) -> int:
    """Negamax value for the side to move: +(empties + 1) for a win, 0 draw, negative for a loss.

    Faster wins score higher and slower losses score less badly.
    """
    key = (me, opp)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    occupied = me | opp
    best = -100
    for move in _ORDER:
        bit = 1 << move
        if occupied & bit:
            continue
        mine = me | bit
        if _won(mine):
            score = 10 - bin(occupied).count("1")  # empties left after this move, plus one
        elif (occupied | bit) == _FULL:
            score = 0
        else:
            score = -_value(opp, mine)
        if score > best:
            best = score
    if best == -100:
        best = 0
    _CACHE[key] = best
    return best


def best_moves(me: int, opp: int, legal: list[int]) -> list[tuple[int, int]]:
    """(score, move) for each legal move, best first; ties keep the fixed preference order."""
    occupied = me | opp
    scored = []
    for move in sorted(legal, key=_ORDER.index):
        bit = 1 << move
        mine = me | bit
        if _won(mine):
            score = 10 - bin(occupied).count("1")
        elif (occupied | bit) == _FULL:
            score = 0
        else:
            score = -_value(opp, mine)
        scored.append((score, move))
    scored.sort(key=lambda item: -item[0])  # stable: equal scores stay in preference order
    return scored


class Agent:
    """Never loses: picks the quickest win, else a draw, else the slowest loss."""

    def reset(self, info: dict[str, Any]) -> None:
        """Nothing to reset; the position cache is shared and stays valid across games."""

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        """Return the best legal cell for the side to move."""
        planes = np.asarray(observation).reshape(9, 2)
        me = sum(1 << i for i in range(9) if planes[i, 0])
        opp = sum(1 << i for i in range(9) if planes[i, 1])
        mask = info.get("action_mask")
        if mask is not None:
            flat = np.asarray(mask).ravel()
            legal = [i for i in range(9) if flat[i]]
        else:
            legal = [i for i in range(9) if not (me | opp) & (1 << i)]
        if not legal:
            return 0
        if (me & opp) or (me | opp) & sum(1 << i for i in legal):
            return legal[0]  # inconsistent input: still answer legally
        return best_moves(me, opp, legal)[0][1]
