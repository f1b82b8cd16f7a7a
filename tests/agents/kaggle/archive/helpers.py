"""A helper module next to main.py: the archive's folder is on sys.path."""


def center_first(board, columns):
    """Free columns, the central ones first."""
    middle = columns // 2
    return sorted((c for c in range(columns) if board[c] == 0), key=lambda c: abs(c - middle))
