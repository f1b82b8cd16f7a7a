"""Defines no act(): the harness must refuse it with a clear message."""

MOVE = 4
