"""Agents' requirements: what pip installs them for, running it, and telling its failures."""
