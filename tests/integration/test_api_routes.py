"""The REST API over a real uvicorn, database and Redis: answers, refusals and their reasons."""

from __future__ import annotations

import gzip
import re
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from http import HTTPStatus

import httpx
import pytest

from rl_arena_app.db.models import Agent, Submission
from rl_arena_app.services import catalog, events
from rl_arena_app.services.admin import audit
from rl_arena_app.services.environments import env_ids
from rl_arena_app.services.submissions import intake
from rl_arena_app.settings import get_settings
from tests.support.agents import AGENT
from tests.support.api import API, person, serving
from tests.support.factory import agent_of, make_ready, played_match
from tests.support.rows import count


def upload(http: httpx.Client, who, name: str = "bot", env: str = "tictactoe",
           data: bytes = AGENT, filename: str = "agent.py") -> httpx.Response:
    return http.post(f"{API}/submissions", headers=who.auth, data={"env": env, "name": name},
                     files={"file": (filename, data)})


def refused(response: httpx.Response, status: int, *words: str) -> str:
    """Assert a refusal with this status, as RFC 9457 problem details whose one-line detail
    (repeated as ``reason`` for older clients) has ``words``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "reason"}
    assert (body["type"], body["title"], body["status"]) == \
        ("about:blank", HTTPStatus(status).phrase, status)
    assert body["detail"] == body["reason"]
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"]
    for word in words:
        assert word in body["detail"], body["detail"]
    return body["detail"]


# ----------------------------------------------------------------------------------- reads


def test_the_leaderboard_is_paged_sorted_and_shows_no_emails(client, alice, bob):
    ids = [agent_of(alice, f"a{k}") for k in range(3)] + [agent_of(bob, "b0")]
    make_ready(*ids)
    played_match(ids[3], ids[0])  # b0 beats a0

    page = client.get(f"{API}/envs/tictactoe/leaderboard", params={"limit": 2, "offset": 1})
    by_name = client.get(f"{API}/envs/tictactoe/leaderboard",
                         params={"sort": "name", "descending": True, "search": "a"})

    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["offset"], body["limit"]) == (4, 1, 2)
    assert [row["rank"] for row in body["rows"]] == [2, 3]
    assert "example.org" not in page.text and "owner_email" not in body["rows"][0]
    assert [row["name"] for row in by_name.json()["rows"]] == ["a2", "a1", "a0"]


def test_a_page_not_modified_is_a_304_until_the_env_changes(client, alice):
    from rl_arena_app.api.leaderboard import VERSION_TTL_S

    agent_of(alice)
    first = client.get(f"{API}/envs/tictactoe/leaderboard")
    etag = first.headers["etag"]

    again = client.get(f"{API}/envs/tictactoe/leaderboard", headers={"If-None-Match": etag})
    events.invalidate(["tictactoe"])
    time.sleep(VERSION_TTL_S + 0.1)
    changed = client.get(f"{API}/envs/tictactoe/leaderboard", headers={"If-None-Match": etag})

    assert (again.status_code, again.content) == (304, b"")
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json() == first.json()


def test_every_read_answers_anyone(client, alice, bob):
    mine, theirs = agent_of(alice), agent_of(bob)
    match_id = played_match(mine, theirs)
    submission = client.get(f"{API}/agents/{mine}").json()["versions"][0]["submission_id"]

    replay = client.get(f"{API}/matches/{match_id}/replay")
    views = {path: client.get(API + path) for path in (
        "/envs", "/envs/tictactoe", "/envs/tictactoe/guide", f"/agents/{mine}/ratings",
        f"/submissions/{submission}", f"/matches?agent_id={mine}", f"/matches/{match_id}",
        "/status")}

    assert replay.status_code == 200 and replay.headers["content-type"] == "application/gzip"
    assert gzip.decompress(replay.content).startswith(b"{")
    assert {path: r.status_code for path, r in views.items()} == dict.fromkeys(views, 200)
    assert views[f"/matches?agent_id={mine}"].json()["total"] == 1
    assert views[f"/submissions/{submission}"].json()["agent"]["agent_id"] == mine
    assert views["/envs/tictactoe/guide"].json()["starter_source"]
    assert "example.org" not in "".join(r.text for r in views.values())
    times = re.findall(r'"(\d{4}-\d\d-\d\dT[\d:.]+)(Z|[+-]\d\d:\d\d)?"',
                       "".join(r.text for r in views.values()))
    assert times and all(offset for _, offset in times), "RFC 3339 times carry their offset"


@pytest.mark.parametrize(("path", "words"), [
    ("/agents/999", ["no agent 999"]),
    ("/envs/chess", ["no environment 'chess'", "tictactoe"]),
    ("/envs/chess/leaderboard", ["no environment 'chess'"]),
    ("/matches/5", ["no match 5"]),
    ("/matches/5/replay", ["match 5 has no replay"]),
    ("/submissions/7", ["no submission 7"]),
    ("/no/such/route", ["no API route /api/v1/no/such/route", "openapi.json"]),
])
def test_what_does_not_exist_is_a_404_with_a_reason(client, path, words):
    refused(client.get(API + path), 404, *words)


@pytest.mark.parametrize(("path", "words"), [
    ("/envs/tictactoe/leaderboard?limit=0", ["query parameter 'limit'", "greater than or equal"]),
    ("/envs/tictactoe/leaderboard?sort=colour", ["query parameter 'sort'", "'rank'"]),
    ("/envs/tictactoe/leaderboard?offset=-1", ["query parameter 'offset'"]),
    ("/agents/abc", ["path parameter 'agent_id'", "valid integer"]),
    ("/agents/0", ["path parameter 'agent_id'", "greater than or equal"]),
    ("/matches?limit=1000", ["query parameter 'limit'"]),
    ("/matches?agent=99999999999999999999", ["query parameter 'agent'", "less than or equal"]),
])
def test_malformed_parameters_are_a_422_naming_the_parameter(client, path, words):
    refused(client.get(API + path), 422, *words)


def test_values_the_services_refuse_are_a_400(client):
    refused(client.get(f"{API}/matches", params={"status": "lost"}), 400,
            "unknown match status 'lost'", "finished")
    refused(client.get(f"{API}/envs/tictactoe/leaderboard", params={"search": "a\x01"}), 400,
            "printable")


def test_a_method_a_path_does_not_have_is_a_405(client):
    reason = refused(client.delete(f"{API}/envs"), 405, "DELETE is not allowed", "GET")
    assert client.delete(f"{API}/envs").headers["allow"] == "GET", reason


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND"])
def test_a_method_no_route_takes_is_a_405_problem_or_a_404_where_nothing_is(client, method):
    on_a_route = client.request(method, f"{API}/envs")
    nowhere = client.request(method, f"{API}/nothing")

    refused(on_a_route, 405, f"{method} is not allowed here: use GET")
    assert on_a_route.headers["allow"] == "GET"
    refused(nowhere, 404, f"no API route {API}/nothing")


# ---------------------------------------------------------------------------------- tokens


def test_a_write_without_a_token_is_a_401_with_the_bearer_challenge(client):
    response = client.get(f"{API}/me")

    refused(response, 401, "Authorization: Bearer")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer rla_not-a-token", "Bearer nonsense"])
def test_an_unknown_token_is_a_401_invalid_token(client, header):
    response = client.get(f"{API}/me", headers={"Authorization": header})

    refused(response, 401, "not valid")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_revoked_admin_loses_the_admin_token_at_once(client, root):
    assert client.get(f"{API}/admin/audit", headers=root.auth).status_code == 200
    from rl_arena_app.services.accounts import users

    users.set_admin(root.account.email, False)

    refused(client.get(f"{API}/admin/audit", headers=root.auth), 401, "not valid")


# ------------------------------------------------------------------------------ submitting


def test_a_submission_is_a_201_with_where_to_follow_it(client, alice):
    response = upload(client, alice)

    assert response.status_code == 201, response.text
    view = response.json()
    assert response.headers["location"] == f"{API}/submissions/{view['version']['submission_id']}"
    assert client.get(response.headers["location"]).json() == view
    assert (view["agent"]["name"], view["version"]["status"]) == ("bot", "queued")
    me = client.get(f"{API}/me", headers=alice.auth).json()
    assert me["account"]["email"] == "alice@example.org"
    assert [a["name"] for a in me["agents"]] == ["bot"]
    [today] = [q for q in me["daily_submissions"] if q["env_id"] == "tictactoe"]
    assert today["submissions_today"]["used"] == 1 and me["active_agents"]["used"] == 1
    assert {q["env_id"] for q in me["daily_submissions"]} == set(env_ids())
    assert sum(q["submissions_today"]["used"] for q in me["daily_submissions"]) == 1
    assert alice.token not in str(me) and me["tokens"][0]["scope"] == "submit"


def test_the_daily_limit_is_a_429_with_retry_after_until_midnight(client, alice, monkeypatch):
    monkeypatch.setenv("RL_ARENA_DAILY_SUBMISSIONS", "1")
    get_settings.cache_clear()
    assert upload(client, alice).status_code == 201

    response = upload(client, alice, data=AGENT + b"# two\n")

    refused(response, 429, "daily limit", "00:00 UTC")
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), clock(0), tzinfo=UTC)
    assert abs(int(response.headers["retry-after"]) - (midnight - now).total_seconds()) < 30
    assert count(Submission) == 1


def test_the_active_agents_limit_is_a_429_that_says_what_to_do_instead(client, alice,
                                                                       monkeypatch):
    monkeypatch.setenv("RL_ARENA_ACTIVE_AGENTS", "1")
    get_settings.cache_clear()
    assert upload(client, alice, "one").status_code == 201

    response = upload(client, alice, "two")

    refused(response, 429, "retire one")
    assert "retry-after" not in response.headers  # waiting does not free it
    assert count(Agent) == 1


def test_retiring_another_submitters_agent_is_a_403_and_twice_a_409(client, alice, bob):
    agent_id = agent_of(alice)

    refused(client.post(f"{API}/agents/{agent_id}/retire", headers=bob.auth), 403,
            "only its owner or an admin")
    retired = client.post(f"{API}/agents/{agent_id}/retire", headers=alice.auth)
    refused(client.post(f"{API}/agents/{agent_id}/retire", headers=alice.auth), 409,
            "already retired")

    assert retired.status_code == 200 and retired.json()["retired_at"] is not None


def test_a_redis_outage_is_a_503_that_names_no_server_path(platform, alice, monkeypatch):
    monkeypatch.setenv("RL_ARENA_REDIS_URL", "unix:///tmp/rl-arena-test-no-redis.sock")
    get_settings.cache_clear()
    from rl_arena_app.api.app import create_api

    with serving(create_api()) as url, httpx.Client(base_url=url, timeout=30) as http:
        response = upload(http, alice)
        health = http.get(f"{API}/status")

    reason = refused(response, 503, "Redis not reachable")
    assert "/tmp" not in reason and "sock" not in reason
    assert response.headers["retry-after"].isdigit()
    assert count(Submission) == 0
    assert health.status_code == 200 and health.json()["redis"].startswith("down: Redis not")
    assert "/tmp" not in health.text


def test_an_admin_action_the_platform_cannot_do_is_a_503_and_audited(platform, root,
                                                                     monkeypatch):
    monkeypatch.setenv("RL_ARENA_REDIS_URL", "unix:///tmp/rl-arena-test-no-redis.sock")
    get_settings.cache_clear()
    from rl_arena_app.api.app import create_api

    with serving(create_api()) as url, httpx.Client(base_url=url, timeout=30) as http:
        quick = http.post(f"{API}/admin/envs/tictactoe/rebuild-leaderboard", headers=root.auth)
        long = http.post(f"{API}/admin/envs/tictactoe/rebuild-ratings", headers=root.auth)

    for response in (quick, long):
        reason = refused(response, 503, "Redis not reachable")
        assert "/tmp" not in reason and "sock" not in reason
    assert [(e.action, e.outcome) for e in audit.recent(2)] == \
        [("rebuild-ratings", "failed"), ("rebuild-leaderboard", "failed")]


# ----------------------------------------------------------------------------------- admin


def test_a_long_action_is_a_202_with_its_entry_to_follow(client, root):
    response = client.post(f"{API}/admin/envs/tictactoe/rebuild-ratings", headers=root.auth)

    assert response.status_code == 202, response.text
    entry = response.json()
    assert (entry["action"], entry["target"], entry["outcome"]) == \
        ("rebuild-ratings", "tictactoe", "running")
    followed = client.get(response.headers["location"], headers=root.auth)
    assert followed.status_code == 200 and followed.json()["entry_id"] == entry["entry_id"]


def test_quick_actions_are_done_and_audited_under_the_admins_name(client, root):
    paused = client.post(f"{API}/admin/envs/connect_four/pause", headers=root.auth)
    everywhere = client.post(f"{API}/admin/rebuild-leaderboard", headers=root.auth)

    assert paused.status_code == 200 and paused.json()["detail"] == \
        "connect_four: matchmaking paused"
    assert everywhere.status_code == 200 and everywhere.json()["target"] == ""
    assert client.get(f"{API}/envs/connect_four").json()["matchmaking"] == "paused"
    log = client.get(f"{API}/admin/audit", headers=root.auth).json()
    assert [(e["actor"], e["action"]) for e in log[:2]] == [
        ("root@example.org", "rebuild-leaderboard"), ("root@example.org", "pause")]


def test_a_quick_action_that_cannot_be_done_is_a_409(client, root):
    intake.submit("builtin:random", env_id="tictactoe", name="rnd", house=True, enqueue=False)
    house = get_settings().house_owner

    refused(client.post(f"{API}/admin/accounts/{house}/grant-admin", headers=root.auth), 409,
            "house account cannot be an admin")
    assert audit.recent(1)[0].outcome == "failed"


def test_admin_refusals_come_from_the_service_and_are_audited(client, platform):
    admin_with_submit_token = person("ops@example.org", admin=True, scope="submit")

    anonymous = client.post(f"{API}/admin/envs/tictactoe/pause")
    not_scoped = client.post(f"{API}/admin/envs/tictactoe/pause",
                             headers=admin_with_submit_token.auth)

    refused(anonymous, 401, "log in as an admin")
    refused(not_scoped, 403, "only admins")
    # the account's refusal is audited; a caller with no token cannot fill the log
    assert [(e.actor, e.outcome) for e in audit.recent(2)] == [("ops@example.org", "refused")]
    assert client.get(f"{API}/envs/tictactoe").json()["matchmaking"] == "running"


def test_an_unknown_action_or_target_is_refused_with_the_known_ones(client, root):
    refused(client.post(f"{API}/admin/envs/tictactoe/explode", headers=root.auth), 422,
            "path parameter 'action'", "'pause'")
    refused(client.post(f"{API}/admin/envs/chess/pause", headers=root.auth), 404,
            "unknown environment 'chess'")
    refused(client.post(f"{API}/admin/envs/CartPole-v1/pause", headers=root.auth), 400,
            "solo environment")
    refused(client.post(f"{API}/admin/accounts/nobody@example.org/revoke-sessions",
                        headers=root.auth), 404, "no account")


# ------------------------------------------------------------------- ids, paths, parameters


@pytest.mark.parametrize(("method", "path", "words"), [
    ("GET", "/agents/99999999999999999999", ["no agent 99999999999999999999"]),
    ("GET", "/agents/2147483648/ratings", ["no agent 2147483648"]),
    ("GET", "/matches/99999999999999999999", ["no match 99999999999999999999"]),
    ("GET", "/matches/99999999999999999999/replay", ["no match"]),
    ("GET", "/submissions/99999999999999999999", ["no submission 99999999999999999999"]),
    ("POST", "/agents/99999999999999999999/retire", ["no agent 99999999999999999999"]),
])
def test_ids_past_what_the_database_holds_are_not_found(client, alice, method, path, words):
    refused(client.request(method, API + path, headers=alice.auth), 404, *words)


@pytest.mark.parametrize("path", ["/agents/1\n", "/no\nsuch/route", "/envs/tic\x01tac",
                                  "/envs/\u202etictactoe", "/matches\r\n"])
def test_a_control_character_in_a_path_is_a_404_problem(api_url, alice, path):
    from urllib.parse import quote

    with httpx.Client(base_url=api_url, timeout=30) as http:
        response = http.get(API + quote(path))

    reason = refused(response, 404, "no API route", "control characters")
    assert "\\u" in reason


@pytest.mark.parametrize(("path", "words"), [
    ("/matches?env_idd=tictactoe", ["query parameter 'env_idd'", "agent", "env", "status"]),
    ("/envs?limit=5", ["query parameter 'limit'", "takes none"]),
    ("/envs/tictactoe/leaderboard?sortt=name", ["query parameter 'sortt'", "sort"]),
    ("/me?verbose=1", ["query parameter 'verbose'"]),
])
def test_an_unknown_query_parameter_is_a_422_not_ignored(client, alice, path, words):
    refused(client.get(API + path, headers=alice.auth), 422, *words)


def test_matches_are_filtered_by_env_and_agent_as_documented(client, alice, bob):
    mine, theirs, idle = agent_of(alice, "a"), agent_of(bob, "b"), agent_of(bob, "idle")
    played_match(mine, theirs)

    def total(**params) -> int:
        response = client.get(f"{API}/matches", params=params)
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert total() == 1
    assert (total(env="tictactoe"), total(env="connect_four")) == (1, 0)
    assert (total(agent=mine), total(agent=idle)) == (1, 0)
    assert total(env="tictactoe", agent=theirs, status="finished") == 1
    assert (total(env_id="connect_four"), total(agent_id=idle)) == (0, 0)  # the old names
    refused(client.get(f"{API}/matches", params={"agent": mine, "agent_id": idle}), 422,
            "query parameter 'agent_id'", "send only agent")


def test_a_bug_is_a_500_problem_without_its_insides(platform, monkeypatch):
    from rl_arena_app.api.app import create_api

    def broken() -> None:
        raise RuntimeError("secret insides at /srv/arena/arena.db")

    monkeypatch.setattr(catalog, "env_cards", broken)
    with serving(create_api()) as url, httpx.Client(base_url=url, timeout=30) as http:
        response = http.get(f"{API}/envs")

    reason = refused(response, 500, "the arena failed on this request")
    assert "secret" not in reason and "/srv" not in reason
