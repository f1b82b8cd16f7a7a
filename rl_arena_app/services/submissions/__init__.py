"""Submissions: intake and quotas, builds and their validation, agents and their versions."""
