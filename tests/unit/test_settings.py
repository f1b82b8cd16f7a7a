"""Settings: embedded defaults, environment overrides, and what production mode refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rl_arena_app.settings import Settings


def test_embedded_defaults_live_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RL_ARENA_REDIS_URL", raising=False)
    monkeypatch.delenv("RL_ARENA_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path / "arena")
    assert settings.db_url == f"sqlite:///{(tmp_path / 'arena' / 'arena.db').resolve()}"
    assert settings.redis_url is None  # `rl-arena up` starts the embedded Redis
    assert settings.matchmaking_interval_s == 10
    assert settings.artifacts_dir == tmp_path / "arena" / "artifacts"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("RL_ARENA_DATABASE_URL", "postgresql+psycopg://u:p@db/arena")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("RL_ARENA_MATCHMAKING_INTERVAL_S", "2.5")
    monkeypatch.setenv("RL_ARENA_DATA_DIR", "/srv/arena")
    settings = Settings()
    assert settings.db_url == "postgresql+psycopg://u:p@db/arena"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.matchmaking_interval_s == 2.5
    assert settings.data_dir == Path("/srv/arena")


@pytest.mark.parametrize(("overrides", "message"), [
    ({}, "RL_ARENA_SECRET_KEY"),
    ({"secret_key": "s3cret", "sandbox": "process"}, "RL_ARENA_SANDBOX=docker"),
    ({"secret_key": "s3cret", "sandbox": "inprocess"}, "RL_ARENA_SANDBOX=docker"),
])
def test_production_refuses_insecure_defaults(overrides, message):
    with pytest.raises(ValidationError, match=message):
        Settings(env="production", **overrides)


def test_production_with_docker_a_secret_and_a_login_is_accepted():
    settings = Settings(env="production", secret_key="s3cret", sandbox="docker",
                        github_client_id="id", github_client_secret="secret")
    assert settings.production and settings.login_providers == ["github"]


def test_production_refuses_to_start_without_an_identity_provider():
    with pytest.raises(ValueError, match="needs an identity provider"):
        Settings(env="production", secret_key="s3cret", sandbox="docker")


def test_providers_show_only_when_configured_and_admin_emails_are_normalised():
    settings = Settings(oidc_issuer="http://localhost:9400", oidc_client_id="x",
                        google_client_id="only-an-id", admin_emails=" Ann@Example.org, b@x.io,")
    assert settings.login_providers == ["oidc"]
    assert settings.admin_email_set == {"ann@example.org", "b@x.io"}
