"""The dashboard's URLs (part of the product: keep them) and their builders."""

from __future__ import annotations

from urllib.parse import quote

OVERVIEW = "/"
ENV = "/envs/[env_id]"
AGENT = "/agents/[agent_id]"
MATCHES = "/matches"
MATCH = "/matches/[match_id]"
VALIDATION = "/submissions/[submission_id]/validation"
STATUS = "/status"
LOGIN = "/login"
ME = "/me"
ADMIN = "/admin"


def env(env_id) -> str:
    """An environment's leaderboard page."""
    return f"/envs/{env_id}"


def agent(agent_id) -> str:
    """An agent's page."""
    return f"/agents/{agent_id}"


def match(match_id) -> str:
    """A match's page with its replay."""
    return f"/matches/{match_id}"


def validation(submission_id) -> str:
    """A submission's validation games or episodes in the replay viewer."""
    return f"/submissions/{submission_id}/validation"


def login(next_path: str) -> str:
    """The login page, coming back to ``next_path`` (a path of this site) afterwards."""
    return f"{LOGIN}?next={quote(next_path or OVERVIEW, safe='/')}"
