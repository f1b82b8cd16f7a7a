"""Submissions: intake and limits, building and validating a version, agents and their versions."""
