"""Fixtures of the integration tests: the API served for real, a client of it, three people,
the login provider and client, the owner/other/admin cookies of the handler tests, an empty
database of each backend, and the platform on the process sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from rl_arena_app.api.app import create_api
from rl_arena_app.auth.login import create_login_app
from rl_arena_app.db.session import engine_for
from rl_arena_app.services.accounts import logins, sessions, tokens, users
from rl_arena_app.services.submissions import intake
from rl_arena_app.settings import get_settings
from tests.support.agents import ARGMAX_AGENT
from tests.support.api import Person, person, serving
from tests.support.database import postgres_scratch_url
from tests.support.login import LOGIN_WEB


@pytest.fixture
def api_url(platform) -> Iterator[str]:
    """The API of the test's platform, served for real."""
    with serving(create_api()) as url:
        yield url


@pytest.fixture
def client(api_url) -> Iterator[httpx.Client]:
    """An HTTP client of the served API."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http


@pytest.fixture
def alice(platform) -> Person:
    """A submitter with a submit token."""
    return person("alice@example.org")


@pytest.fixture
def bob(platform) -> Person:
    """Another submitter with a submit token."""
    return person("bob@example.org")


@pytest.fixture
def root(platform) -> Person:
    """An admin with an admin token."""
    return person("root@example.org", admin=True, scope="admin")


@pytest.fixture(scope="session")
def issuer() -> Iterator[str]:
    """A real OpenID Connect provider on localhost (oidc-provider-mock, in a thread)."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def login_client(platform, issuer, monkeypatch) -> Iterator[TestClient]:
    """The /auth routes of an arena whose single sign-on is that provider."""
    monkeypatch.setenv("RL_ARENA_OIDC_ISSUER", issuer)
    monkeypatch.setenv("RL_ARENA_OIDC_CLIENT_ID", "rl-arena")
    monkeypatch.setenv("RL_ARENA_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("RL_ARENA_PUBLIC_URL", LOGIN_WEB)
    get_settings.cache_clear()
    with TestClient(create_login_app(), base_url=LOGIN_WEB) as test_client:
        yield test_client


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
        yield url
        engine_for(url).dispose()
    else:
        yield from postgres_scratch_url()


@pytest.fixture
def process_sandbox(platform, monkeypatch):
    """The platform with agents in local processes."""
    monkeypatch.setenv("RL_ARENA_SANDBOX", "process")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def people(platform):
    """Cookies of: nobody, the owner, another submitter, an admin; and the owner's things."""
    owner = logins.login("oidc", "o", "owner@example.org", True)
    other = logins.login("oidc", "x", "other@example.org", True)
    boss = users.set_admin(logins.login("oidc", "a", "boss@example.org", True).email, True)
    agent = intake.submit_upload(owner, env_id="tictactoe", name="bot", filename="agent.py",
                                 data=ARGMAX_AGENT, enqueue=False)
    token = tokens.create_token(owner, "submit", "owned")
    return {
        "anonymous": None, "owner": sessions.start_session(owner.user_id),
        "other": sessions.start_session(other.user_id),
        "admin": sessions.start_session(boss.user_id),
        "agent_id": agent.agent_id, "token_id": tokens.list_tokens(owner)[0].token_id,
        "token": token, "accounts": {"owner": owner, "other": other, "admin": boss},
    }
