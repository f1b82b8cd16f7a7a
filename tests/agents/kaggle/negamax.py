"""A Kaggle ConnectX agent as notebooks write them: helpers first, a negamax search, the agent last.

Attribute access (`obs.board`, `config.columns`), arity 2, pure Python.
"""

import random

DEPTH = 3
WIN_SCORE = 1_000_000


def drop(board, column, mark, config):
    """A new board with `mark` dropped into `column` (which must not be full)."""
    grid = list(board)
    for row in range(config.rows - 1, -1, -1):
        if grid[column + row * config.columns] == 0:
            grid[column + row * config.columns] = mark
            return grid
    raise ValueError("full column")


def legal_moves(board, config):
    """Columns that are not full, central ones first (they prune best)."""
    middle = config.columns // 2
    columns = [c for c in range(config.columns) if board[c] == 0]
    return sorted(columns, key=lambda c: abs(c - middle))


def windows(board, config):
    """Every line of `inarow` cells: horizontal, vertical and both diagonals."""
    rows, cols, n = config.rows, config.columns, config.inarow
    for row in range(rows):
        for col in range(cols):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                end_row, end_col = row + dr * (n - 1), col + dc * (n - 1)
                if 0 <= end_row < rows and 0 <= end_col < cols:
                    yield [board[(col + dc * k) + (row + dr * k) * cols] for k in range(n)]


def wins(board, mark, config):
    """Whether `mark` has `inarow` in a line."""
    return any(all(cell == mark for cell in window) for window in windows(board, config))


def heuristic(board, mark, config):
    """Open lines for `mark` minus open lines for the opponent, longer ones worth more."""
    other = 3 - mark
    score = 0
    for window in windows(board, config):
        mine, theirs = window.count(mark), window.count(other)
        if theirs == 0 and mine:
            score += 4 ** mine
        elif mine == 0 and theirs:
            score -= 4 ** theirs
    return score


def negamax(board, mark, depth, alpha, beta, config):
    """The best score `mark` (to move) can force, searching `depth` plies."""
    moves = legal_moves(board, config)
    if not moves:
        return 0
    if depth == 0:
        return heuristic(board, mark, config)
    best = -WIN_SCORE * 10
    for column in moves:
        child = drop(board, column, mark, config)
        if wins(child, mark, config):
            return WIN_SCORE + depth  # sooner wins score higher
        score = -negamax(child, 3 - mark, depth - 1, -beta, -alpha, config)
        best = max(best, score)
        alpha = max(alpha, score)
        if alpha >= beta:
            break
    return best


def my_agent(obs, config):
    """Search DEPTH plies; break ties at random among equally good central columns."""
    scores = {}
    for column in legal_moves(obs.board, config):
        child = drop(obs.board, column, obs.mark, config)
        if wins(child, obs.mark, config):
            return column
        scores[column] = -negamax(child, 3 - obs.mark, DEPTH - 1, -WIN_SCORE * 10,
                                  WIN_SCORE * 10, config)
    best = max(scores.values())
    return random.choice([c for c, s in scores.items() if s == best])
