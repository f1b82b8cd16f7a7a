"""`rl-arena agent ...`: add agents and submissions."""

from __future__ import annotations

import click


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
