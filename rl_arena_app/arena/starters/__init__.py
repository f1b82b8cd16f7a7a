"""Starter agents: one short, commented agent.py per environment for submitters to begin from.

Each file is a complete agent (standard library and numpy only); `EnvDoc.starter` names it.
"""

from __future__ import annotations

from pathlib import Path

STARTERS_DIR = Path(__file__).resolve().parent


def starter_path(file_name: str) -> Path:
    """Path of the starter agent file `file_name` in this package."""
    return STARTERS_DIR / file_name
