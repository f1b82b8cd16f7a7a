"""The dashboard's URLs (part of the product: keep them), the API and login URLs its pages link
to, and their builders: every internal link is built here."""

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
API_DOCS = "/api/v1/openapi.json"
DEV_LOGIN = "/auth/login/dev"
LOGOUT = "/auth/logout"


def env(env_id) -> str:
    """An environment's leaderboard page."""
    return f"/envs/{env_id}"


def agent(agent_id) -> str:
    """An agent's page."""
    return f"/agents/{agent_id}"


def matches(agent_id=None) -> str:
    """The list of matches, of one agent when ``agent_id`` is given."""
    return MATCHES if agent_id is None else f"{MATCHES}?agent={agent_id}"


def match(match_id) -> str:
    """A match's page with its replay."""
    return f"/matches/{match_id}"


def replay_file(match_id) -> str:
    """A match's replay file (the REST API's download)."""
    return f"/api/v1/matches/{match_id}/replay"


def validation(submission_id) -> str:
    """A submission's validation games or episodes in the replay viewer."""
    return f"/submissions/{submission_id}/validation"


def login(next_path: str) -> str:
    """The login page, coming back to ``next_path`` (a path of this site) afterwards."""
    return f"{LOGIN}?next={quote(next_path or OVERVIEW, safe='/')}"


def provider_login(provider, next_query):
    """The login through an identity provider, coming back to ``next_query`` (quoted already);
    the arguments may be Vars."""
    return "/auth/login/" + provider + "?next=" + next_query


def showing(route_id: str, route: str) -> bool:
    """Whether the router's route id (``/index``, ``/envs/[env_id]``) is ``route``'s."""
    return route_id.strip("/") == (route.strip("/") or "index")
