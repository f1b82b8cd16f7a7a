"""Who may do what through the API: every route of create_api(), for every kind of caller.

The cases are generated from the app's own routes (and, for a path parameter with a fixed set
of values such as an admin action, from each value): a route without a row in EXPECTED fails
`test_every_route_has_a_row`, and a row whose route is gone fails it too. Callers: nobody
(no token), the owner of the agents in the paths, another submitter, an admin with an admin
token, and an admin with a submit-scoped token (a submitter like any other).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.routing import BaseRoute

from rl_arena_app.api.app import create_api
from rl_arena_app.services.admin import actions, audit
from tests.support.agents import AGENT
from tests.support.api import API, person
from tests.support.factory import agent_of, make_ready, played_match

ROLES = ("anonymous", "owner", "other", "admin", "admin_submit_token")
DONE = "done"  # an admin action that is carried out: 202 when a worker runs it, else 200


def everyone(status: int) -> dict[str, int | str]:
    return dict.fromkeys(ROLES, status)


SUBMITTERS = {"anonymous": 401, "owner": 201, "other": 201, "admin": 201,
              "admin_submit_token": 201}
OWNER_OR_ADMIN = {"anonymous": 401, "owner": 200, "other": 403, "admin": 200,
                  "admin_submit_token": 403}
TOKEN_HOLDERS = {"anonymous": 401, "owner": 200, "other": 200, "admin": 200,
                 "admin_submit_token": 200}
ADMIN_READS = {"anonymous": 401, "owner": 403, "other": 403, "admin": 200,
               "admin_submit_token": 403}
ADMIN_ACTIONS = {**ADMIN_READS, "admin": DONE}

EXPECTED: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", f"{API}/openapi.json"): everyone(200),
    ("HEAD", f"{API}/openapi.json"): everyone(200),
    ("GET", f"{API}/docs"): everyone(200),
    ("GET", f"{API}/docs/oauth2-redirect"): everyone(200),
    ("GET", f"{API}/envs"): everyone(200),
    ("GET", f"{API}/envs/{{env_id}}"): everyone(200),
    ("GET", f"{API}/envs/{{env_id}}/guide"): everyone(200),
    ("GET", f"{API}/envs/{{env_id}}/leaderboard"): everyone(200),
    ("GET", f"{API}/agents/{{agent_id}}"): everyone(200),
    ("GET", f"{API}/agents/{{agent_id}}/ratings"): everyone(200),
    ("GET", f"{API}/submissions/{{submission_id}}"): everyone(200),
    ("GET", f"{API}/matches"): everyone(200),
    ("GET", f"{API}/matches/{{match_id}}"): everyone(200),
    ("GET", f"{API}/matches/{{match_id}}/replay"): everyone(200),
    ("GET", f"{API}/status"): everyone(200),
    ("POST", f"{API}/submissions"): SUBMITTERS,
    ("POST", f"{API}/agents/{{agent_id}}/retire"): OWNER_OR_ADMIN,
    ("GET", f"{API}/me"): TOKEN_HOLDERS,
    ("POST", f"{API}/admin/envs/{{env_id}}/{{action}}"): ADMIN_ACTIONS,
    ("POST", f"{API}/admin/accounts/{{email}}/{{action}}"): ADMIN_ACTIONS,
    ("POST", f"{API}/admin/matches/{{match_id}}/{{action}}"): ADMIN_ACTIONS,
    ("POST", f"{API}/admin/{{action}}"): ADMIN_ACTIONS,
    ("GET", f"{API}/admin/audit"): ADMIN_READS,
    ("GET", f"{API}/admin/audit/{{entry_id}}"): ADMIN_READS,
    **{(method, f"{API}/{{path:path}}"): everyone(404)
       for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},
}


@dataclass(frozen=True)
class Case:
    """One request of the matrix: a route's method and path, with its fixed-choice values."""

    method: str
    path: str
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return " ".join([self.method, self.path, *(f"{k}={v}" for k, v in self.choices)])


def routes() -> list[BaseRoute]:
    return [r for r in create_api().routes if getattr(r, "methods", None)]


def cases() -> Iterator[Case]:
    """Every (method, path) of the app, once per value of a path parameter with fixed values."""
    spec = create_api().openapi()
    for route in routes():
        for method in sorted(route.methods):
            operation = spec["paths"].get(route.path, {}).get(method.lower(), {})
            # A choice of one is a `const` in the schema, of several an `enum`.
            fixed = [(p["name"], p["schema"].get("enum") or [p["schema"]["const"]])
                     for p in operation.get("parameters", [])
                     if p["in"] == "path" and {"enum", "const"} & p["schema"].keys()]
            if not fixed:
                yield Case(method, route.path)
            for name, values in fixed:  # one fixed-choice parameter per route, at most
                for value in values:
                    yield Case(method, route.path, ((name, value),))


def test_every_route_has_a_row():
    seen = {(method, route.path) for route in routes() for method in route.methods}

    assert sorted(seen - EXPECTED.keys()) == [], "routes without a row in EXPECTED"
    assert sorted(EXPECTED.keys() - seen) == [], "rows in EXPECTED for routes that are gone"


@dataclass
class World:
    """What the requests point at, and who sends them."""

    people: dict[str, dict[str, str]]  # role -> Authorization header (empty: anonymous)
    values: dict[str, str]
    alice: object


@pytest.fixture(name="world")
def world_fixture(alice, bob, root) -> World:
    ops = person("ops@example.org", admin=True, scope="submit")
    person("target@example.org")
    mine, theirs = agent_of(alice), agent_of(bob)
    make_ready(mine, theirs)
    match_id = played_match(mine, theirs)
    entry = actions.perform(audit.CLI, "rebuild-leaderboard", "tictactoe")
    from rl_arena_app.services.submissions.agents import agent_view

    people = {"anonymous": {}, "owner": alice.auth, "other": bob.auth, "admin": root.auth,
              "admin_submit_token": ops.auth}
    values = {"env_id": "tictactoe", "agent_id": str(mine), "match_id": str(match_id),
              "submission_id": str(agent_view(mine).versions[0].submission_id),
              "entry_id": str(entry.entry_id), "email": "target@example.org",
              "path": "no/such/thing"}
    return World(people, values, alice)


def request(http: httpx.Client, world: World, case: Case, role: str) -> httpx.Response:
    """Send the case's request as ``role`` (fresh things where the request uses them up)."""
    values = dict(world.values, **dict(case.choices))
    if "/admin/envs/" in case.path:
        values["env_id"] = "connect_four"  # the admin's changes stay out of the reads' env
    if case.path.endswith("/retire"):
        values["agent_id"] = str(agent_of(world.alice, f"retiree-{role}"))
    path = case.path.replace("{path:path}", "{path}").format(**values)
    kwargs = {}
    if case.path == f"{API}/submissions":
        kwargs = {"data": {"env": "tictactoe", "name": f"matrix-{role}"},
                  "files": {"file": ("agent.py", AGENT)}}
    return http.request(case.method, path, headers=world.people[role], **kwargs)


def expected(case: Case, role: str) -> int:
    status = EXPECTED[case.method, case.path][role]
    if status != DONE:
        return status
    action = dict(case.choices)["action"]
    return 202 if actions.ACTIONS[action].long else 200


def test_the_authorization_matrix(api_url, world):
    every = list(cases())
    assert {(case.method, case.path) for case in every} == EXPECTED.keys()
    mismatches = []
    with httpx.Client(base_url=api_url, timeout=30) as http:
        for case in every:
            for role in ROLES:
                got = request(http, world, case, role)
                if got.status_code != expected(case, role):
                    mismatches.append(f"{case.label} as {role}: {got.status_code} "
                                      f"(expected {expected(case, role)}) {got.text[:120]}")

    assert mismatches == []
