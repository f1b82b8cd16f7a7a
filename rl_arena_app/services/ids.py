"""Ids as the databases hold them: positive, at most PostgreSQL's integer.

A larger number names nothing and must never reach SQL (SQLite raises OverflowError on it,
PostgreSQL an out-of-range error): front ends treat it as "not found", like any unknown id.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() also takes '²' and '٣'


def parse_id(text: object) -> int | None:
    """The id written in a URL, or None when it cannot be one (not digits, 0, past MAX_ID)."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def in_range(value: int) -> bool:
    """Whether ``value`` can be an id in the database (a query for any other finds nothing)."""
    return 1 <= value <= MAX_ID
