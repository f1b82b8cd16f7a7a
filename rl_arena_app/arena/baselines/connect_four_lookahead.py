"""Built-in baseline: connect four by alpha-beta lookahead (standalone agent.py: stdlib + numpy).

Bitboards in the usual layout: column c owns bits c*7 .. c*7+5 (bottom to top) plus an always
empty sentinel bit c*7+6, so shifts by 1 (vertical), 7 (horizontal), 6 and 8 (diagonals)
never wrap between columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ROWS, COLS = 6, 7
_H1 = ROWS + 1
_BOTTOM = sum(1 << (c * _H1) for c in range(COLS))
_BOARD = _BOTTOM * ((1 << ROWS) - 1)
_COL_MASKS = tuple(((1 << ROWS) - 1) << (c * _H1) for c in range(COLS))
_ORDER = (3, 2, 4, 1, 5, 0, 6)  # centre first
_CENTRE = _COL_MASKS[3]
WIN = 10_000
DEPTH = 4  # plies searched below each root move, before the heuristic


def _popcount(x: int) -> int:
    """Number of set bits (int.bit_count needs Python 3.10)."""
    return bin(x).count("1")


def _windows() -> tuple[int, ...]:
    """Bit masks of all 69 four-cell lines on the board."""
    out = []
    for c in range(COLS):
        for r in range(ROWS):
            for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = [(c + k * dc, r + k * dr) for k in range(4)]
                if all(0 <= cc < COLS and 0 <= rr < ROWS for cc, rr in cells):
                    out.append(sum(1 << (cc * _H1 + rr) for cc, rr in cells))
    return tuple(out)


_WINDOWS = _windows()
_WEIGHTS = (0, 1, 4, 16, 0)  # by pieces of one colour in an otherwise empty window


def _winning_cells(pos: int, mask: int) -> int:
    """Empty cells (playable or not) that would complete four for `pos`."""
    r = (pos << 1) & (pos << 2) & (pos << 3)
    for s in (_H1, _H1 - 1, _H1 + 1):
        p = (pos << s) & (pos << 2 * s)
        r |= p & (pos << 3 * s)
        r |= p & (pos >> s)
        p = (pos >> s) & (pos >> 2 * s)
        r |= p & (pos << s)
        r |= p & (pos >> 3 * s)
    return r & (_BOARD ^ mask)


def _evaluate(me: int, opp: int) -> int:
    """Static score for the side to move: open-window counts plus centre control."""
    score = 3 * (_popcount(me & _CENTRE) - _popcount(opp & _CENTRE))
    for w in _WINDOWS:
        a = w & me
        b = w & opp
        if a:
            if not b:
                score += _WEIGHTS[_popcount(a)]
        elif b:
            score -= _WEIGHTS[_popcount(b)]
    return score


def _negamax(me: int, mask: int, depth: int, alpha: int, beta: int) -> int:
    """Alpha-beta negamax for the side to move owning `me`; wins sooner score higher."""
    possible = (mask + _BOTTOM) & _BOARD
    if _winning_cells(me, mask) & possible:
        return WIN + depth
    if not possible:
        return 0  # board full: draw
    opp = me ^ mask
    opp_win = _winning_cells(opp, mask)
    forced = possible & opp_win
    if forced:
        if forced & (forced - 1):
            return -(WIN + depth - 1)  # two threats: cannot block both
        possible = forced
    possible &= ~(opp_win >> 1)  # never play right under an opponent's winning cell
    if not possible:
        return -(WIN + depth - 1)
    if depth <= 0:
        return _evaluate(me, opp)
    best = -(WIN + 100)
    for c in _ORDER:
        move = possible & _COL_MASKS[c]
        if not move:
            continue
        score = -_negamax(opp, mask | move, depth - 1, -beta, -alpha)
        if score > best:
            best = score
            if score > alpha:
                alpha = score
                if alpha >= beta:
                    break
    return best


def _bitboards(observation: Any) -> tuple[int, int]:
    """(own pieces, all pieces) from the (6, 7, 2) observation; row 0 is the top row."""
    planes = np.asarray(observation).reshape(ROWS, COLS, 2)
    me = mask = 0
    for r in range(ROWS):
        for c in range(COLS):
            bit = 1 << (c * _H1 + (ROWS - 1 - r))
            if planes[r, c, 0]:
                me |= bit
                mask |= bit
            elif planes[r, c, 1]:
                mask |= bit
    return me, mask


def choose(me: int, mask: int, legal: list[int], rng: np.random.Generator) -> int:
    """Pick a column: win now, block, stay safe, then search; equal best moves drawn by `rng`."""
    legal = [c for c in _ORDER if c in legal]
    moves = {c: ((mask + _BOTTOM) & _COL_MASKS[c]) for c in legal}
    moves = {c: m for c, m in moves.items() if m}
    if not moves:
        return legal[0]
    mine = _winning_cells(me, mask)
    for c, m in moves.items():
        if m & mine:
            return c
    opp = me ^ mask
    opp_win = _winning_cells(opp, mask)
    for c, m in moves.items():
        if m & opp_win:
            return c  # block (if there are two threats, this is the best we can do)
    safe = [c for c, m in moves.items() if not (m << 1) & opp_win]
    candidates = safe or list(moves)
    if len(candidates) == 1:
        return candidates[0]
    scores = {}
    best = -(WIN + 100)
    for c in candidates:
        # Window (best - 1, inf): moves tying with the best get exact scores, so ties are real.
        score = -_negamax(opp, mask | moves[c], DEPTH - 1, -(WIN + 100), -(best - 1))
        scores[c] = score
        best = max(best, score)
    tied = [c for c in candidates if scores[c] == best]
    return tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]


class Agent:
    """Wins when it can, blocks, avoids handing over a win, else searches a few plies deep."""

    def __init__(self) -> None:
        self._rng = np.random.default_rng(0)

    def reset(self, info: dict[str, Any]) -> None:
        """Reseed the tie-breaking generator from the game's seed."""
        self._rng = np.random.default_rng(info.get("seed"))

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        """Return the column to drop a piece in."""
        me, mask = _bitboards(observation)
        action_mask = info.get("action_mask")
        if action_mask is not None:
            flat = np.asarray(action_mask).ravel()
            legal = [c for c in range(COLS) if flat[c]]
        else:
            legal = [c for c in range(COLS) if not mask & (1 << (c * _H1 + ROWS - 1))]
        if not legal:
            return 0
        return choose(me, mask, legal, self._rng)
