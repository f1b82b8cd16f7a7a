"""Matches: the queue, pairing agents, playing a match and recording it, and reading them back."""
