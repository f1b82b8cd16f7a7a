"""Crashes while agent.py is imported."""

raise ValueError("boom at import")
