"""Rate limits against the real Redis: the API per address and per token, refused tokens, the
login routes, token creation and uploads; 429 with Retry-After; windows that end.

Most tests set small limits through the settings (RL_ARENA_RATE_LIMIT_*), like an operator; the
red-team reproductions keep the defaults. The API is served by uvicorn on loopback, which the
default RL_ARENA_TRUSTED_PROXIES trusts: X-Forwarded-For stands for clients at other addresses.
"""

from __future__ import annotations

import io
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import reflex as rx

from rl_arena_app.api.app import create_api, limit_logins
from rl_arena_app.auth.login import create_login_app
from rl_arena_app.services.accounts import sessions, tokens
from rl_arena_app.services.submissions import intake
from rl_arena_app.settings import get_settings
from tests.support.agents import AGENT
from tests.support.api import API, person, serving
from tests.support.handlers import run


def limited(monkeypatch, **limits: str) -> None:
    """Set rate limits (by their short names, e.g. api_address="3/minute") as an operator does."""
    for name, value in limits.items():
        monkeypatch.setenv(f"RL_ARENA_RATE_LIMIT_{name.upper()}", value)
    get_settings.cache_clear()


@pytest.fixture(name="api")
def api_fixture(platform) -> Iterator[Callable[[], httpx.Client]]:
    """Serve the API for real (once the test has set its limits); a client of it."""
    with ExitStack() as stack:

        def connect() -> httpx.Client:
            url = stack.enter_context(serving(create_api()))
            return stack.enter_context(httpx.Client(base_url=url, timeout=30))

        yield connect


def from_address(address: str) -> dict[str, str]:
    """Headers of a request our trusted local proxy forwards for ``address``."""
    return {"X-Forwarded-For": address}


def assert_429(response: httpx.Response, *words: str) -> int:
    """A 429 problem with Retry-After (seconds) and a reason saying ``words``; the seconds."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Too Many Requests" and body["detail"] == body["reason"]
    for word in words:
        assert word in body["detail"], body["detail"]
    return int(response.headers["retry-after"])


# ------------------------------------------------------------------------------- red team


def test_a_burst_of_reads_from_one_address_gets_429s(api):
    http = api()
    statuses = Counter()
    waits = set()
    for _ in range(320):  # the red team's 300 reads in 2.5 s, and more
        response = http.get(f"{API}/envs")
        statuses[response.status_code] += 1
        if response.status_code == 429:
            waits.add(assert_429(response, "too many API requests from your address",
                                 "300 per 1 minute"))

    assert statuses == {200: 300, 429: 20}
    assert waits and all(1 <= wait <= 60 for wait in waits)


def test_a_burst_of_bad_token_guesses_gets_429s_but_a_right_token_still_passes(api, alice):
    http = api()
    statuses = Counter()
    for _ in range(250):
        guess = {"Authorization": f"Bearer rla_{secrets.token_urlsafe(32)}"}
        statuses[http.get(f"{API}/me", headers=guess).status_code] += 1
    right = http.get(f"{API}/me", headers=alice.auth)  # someone else behind the same address
    guess = http.get(f"{API}/me", headers={"Authorization": "Bearer rla_nope"})

    assert statuses == {401: 20, 429: 230}
    assert right.status_code == 200  # a guesser cannot lock out the address's other people
    wait = assert_429(guess, "too many refused API tokens from your address")
    assert 1 <= wait <= 60


# ------------------------------------------------------------------ per token, per address


def test_one_token_from_many_addresses_meets_the_token_limit(api, monkeypatch, alice, bob):
    limited(monkeypatch, api_token="5/minute", api_address="100/minute")
    http = api()

    answers = [http.get(f"{API}/me", headers={**alice.auth, **from_address(f"203.0.113.{k}")})
               for k in range(1, 8)]
    other_token = http.get(f"{API}/me", headers={**bob.auth, **from_address("203.0.113.1")})

    assert [r.status_code for r in answers] == [200] * 5 + [429] * 2
    assert_429(answers[-1], "too many API requests with this token", "5 per 1 minute")
    assert other_token.status_code == 200


def test_many_tokens_from_one_address_meet_the_address_limit(api, monkeypatch, platform):
    limited(monkeypatch, api_token="5/minute", api_address="8/minute")
    people = [person(f"p{k}@example.org") for k in range(10)]
    http = api()

    answers = [http.get(f"{API}/me", headers={**p.auth, **from_address("192.0.2.1")})
               for p in people]
    next_door = http.get(f"{API}/me", headers={**people[0].auth, **from_address("192.0.2.2")})

    assert [r.status_code for r in answers] == [200] * 8 + [429] * 2
    assert_429(answers[-1], "too many API requests from your address", "8 per 1 minute")
    assert next_door.status_code == 200


def test_forwarded_for_counts_only_from_a_trusted_proxy(api, monkeypatch, platform):
    limited(monkeypatch, api_address="3/minute")
    monkeypatch.setenv("RL_ARENA_TRUSTED_PROXIES", "")  # loopback is then a client like any
    get_settings.cache_clear()
    http = api()

    spoofed = [http.get(f"{API}/envs", headers=from_address(f"198.51.100.{k}")).status_code
               for k in range(1, 6)]

    assert spoofed == [200, 200, 200, 429, 429]


def test_an_ipv6_client_is_counted_by_its_slash_64(api, monkeypatch, platform):
    limited(monkeypatch, api_address="3/minute")
    http = api()

    same_block = [http.get(f"{API}/envs", headers=from_address(f"2001:db8:1:2::{k}"))
                  .status_code for k in range(1, 5)]
    other_block = http.get(f"{API}/envs", headers=from_address("2001:db8:1:3::1"))

    assert same_block == [200, 200, 200, 429]
    assert other_block.status_code == 200


def test_the_window_ends_when_retry_after_says(api, monkeypatch, platform):
    limited(monkeypatch, api_address="3 per 2 seconds")
    http = api()

    first = [http.get(f"{API}/envs").status_code for _ in range(3)]
    refused = http.get(f"{API}/envs")
    wait = assert_429(refused, "3 per 2 second")
    time.sleep(wait + 0.2)
    again = http.get(f"{API}/envs")

    assert first == [200] * 3 and 1 <= wait <= 2
    assert again.status_code == 200


def test_an_empty_setting_turns_one_limit_off_and_leaves_the_others(api, monkeypatch,
                                                                     platform, alice):
    limited(monkeypatch, api_address="", api_token="3/minute")
    http = api()

    anonymous = {http.get(f"{API}/envs").status_code for _ in range(40)}
    with_token = [http.get(f"{API}/me", headers=alice.auth).status_code for _ in range(4)]

    assert anonymous == {200}
    assert with_token == [200, 200, 200, 429]


def test_with_redis_down_the_limits_hold_in_memory_and_reads_still_answer(api, monkeypatch,
                                                                         platform):
    limited(monkeypatch, api_address="3/minute")
    monkeypatch.setenv("RL_ARENA_REDIS_URL", "unix:///tmp/rl-arena-test-no-redis.sock")
    get_settings.cache_clear()
    http = api()

    statuses = [http.get(f"{API}/envs/tictactoe").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]


# ---------------------------------------------------------------------------- login routes


@pytest.fixture(name="login_url")
def login_url_fixture(platform, monkeypatch) -> Iterator[str]:
    """The /auth routes behind their rate limit, as the app's api_transformer chains them."""
    limited(monkeypatch, login="3/minute")
    with serving(limit_logins(create_login_app())) as url:
        yield url


def test_the_login_routes_are_limited_per_address(login_url):
    with httpx.Client(base_url=login_url, timeout=30) as http:
        dev = [http.post("/auth/login/dev", data={"email": f"d{k}@example.org"}).status_code
               for k in range(2)]
        callback = http.get("/auth/callback/oidc", params={"error": "access_denied"})
        start = http.get("/auth/login/oidc")
        callback_again = http.get("/auth/callback/oidc", params={"code": "x", "state": "y"})
        other_client = http.post("/auth/login/dev", data={"email": "e@example.org"},
                                 headers=from_address("198.51.100.9"))
        logout = http.post("/auth/logout")

    assert dev == [303, 303] and callback.status_code == 303
    for refused in (start, callback_again):
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["content-type"].startswith("text/html")
        assert "too many login attempts from your address" in refused.text
        assert 'href=\'/login\'' in refused.text
    assert other_client.status_code == 303
    assert logout.status_code == 303  # only logins are counted


# -------------------------------------------------------------------- tokens and uploads


def test_token_creation_is_limited_per_account_on_the_dashboard(platform, monkeypatch):
    limited(monkeypatch, tokens="2/hour")
    alice, bob = person("alice@example.org"), person("bob@example.org")
    cookie = sessions.start_session(alice.account.user_id)

    made = [run("TokensState.create_token", cookie, token_name=f"t{k}") for k in range(3)]
    bobs = run("TokensState.create_token", sessions.start_session(bob.account.user_id))
    by_operator = tokens.create_token(alice.account, "submit", "from the shell")

    assert [m.new_token != "" for m in made] == [True, True, False]
    assert "too many API tokens made by this account: at most 2 per 1 hour" in \
        made[-1].action_error
    assert "try again in" in made[-1].action_error
    assert bobs.new_token != "" and tokens.token_account(by_operator) is not None


def upload(http: httpx.Client, who, name: str) -> httpx.Response:
    return http.post(f"{API}/submissions", headers=who.auth, data={"env": "tictactoe",
                     "name": name}, files={"file": ("agent.py", AGENT)})


def test_uploads_are_limited_per_account_through_the_api_and_the_dashboard(api, monkeypatch,
                                                                           tmp_path):
    limited(monkeypatch, uploads="2/hour")
    alice, bob = person("alice@example.org"), person("bob@example.org")
    http = api()

    accepted = [upload(http, alice, name).status_code for name in ("a", "b")]
    refused = upload(http, alice, "c")
    on_the_dashboard = run("UploadState.upload", sessions.start_session(alice.account.user_id),
                           [rx.UploadFile(file=io.BytesIO(AGENT), path=Path("agent.py"))],
                           env_id="tictactoe", agent_choice="a")
    bobs = upload(http, bob, "a")
    source = tmp_path / "agent.py"
    source.write_bytes(AGENT)
    by_operator = intake.submit(str(source), env_id="tictactoe", name="shell",
                                owner_email=alice.account.email, enqueue=False)

    assert accepted == [201, 201]
    wait = assert_429(refused, "too many uploads by this account", "2 per 1 hour")
    assert 3500 <= wait <= 3600
    assert "too many uploads by this account" in on_the_dashboard.upload_error
    assert bobs.status_code == 201
    assert by_operator.version == 1
