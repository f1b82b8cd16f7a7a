"""Settings: embedded defaults, environment overrides, and what production mode refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rl_arena_app.errors import BadInput
from rl_arena_app.settings import Settings, get_settings

SECRET = "0123456789abcdef" * 4  # 64 characters, as `openssl rand -hex 32` makes
# A login and the URL people open: what production needs besides a secret.
GITHUB = {"github_client_id": "id", "github_client_secret": "secret",
          "public_url": "https://arena.example.org"}


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
    (GITHUB, "RL_ARENA_SECRET_KEY"),
    ({**GITHUB, "secret_key": SECRET, "sandbox": "process"}, "RL_ARENA_SANDBOX=docker"),
    ({**GITHUB, "secret_key": SECRET, "sandbox": "inprocess"}, "RL_ARENA_SANDBOX=docker"),
])
def test_production_refuses_insecure_defaults(overrides, message):
    with pytest.raises(ValidationError, match=message):
        Settings(env="production", **overrides)


def test_production_with_docker_a_secret_and_a_login_is_accepted():
    settings = Settings(env="production", secret_key=SECRET, sandbox="docker", **GITHUB)
    assert settings.production and settings.login_providers == ["github"]


def test_production_refuses_to_start_without_an_identity_provider():
    with pytest.raises(ValueError, match="needs an identity provider"):
        Settings(env="production", secret_key=SECRET, sandbox="docker",
                 public_url="https://arena.example.org")


def test_production_refuses_to_start_without_the_url_people_open():
    with pytest.raises(ValidationError, match="RL_ARENA_PUBLIC_URL, the URL people open"):
        Settings(env="production", secret_key=SECRET, github_client_id="id",
                 github_client_secret="secret")


def test_production_names_every_missing_piece_at_once():
    with pytest.raises(ValidationError) as refused:
        Settings(env="production")
    message = str(refused.value)
    assert "RL_ARENA_SECRET_KEY" in message and "openssl rand -hex 32" in message
    assert "identity provider" in message and "RL_ARENA_OIDC_ISSUER" in message
    assert "RL_ARENA_PUBLIC_URL" in message


@pytest.mark.parametrize("secret", ["s3cret", "x" * 31, "é" * 15])
def test_production_refuses_a_secret_shorter_than_32_bytes(secret):
    with pytest.raises(ValidationError, match=r"at least 32 bytes.*openssl rand -hex 32"):
        Settings(env="production", secret_key=secret, **GITHUB)


def test_a_32_byte_secret_is_enough():
    assert Settings(env="production", secret_key="é" * 16, **GITHUB).production


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "arena.example.org", ""])
def test_development_refuses_to_listen_beyond_loopback(host):
    with pytest.raises(ValidationError) as refused:
        Settings(web_host=host)
    message = str(refused.value)
    assert "RL_ARENA_WEB_HOST" in message and "127.0.0.1" in message
    assert "RL_ARENA_ENV=production" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_development_listens_on_loopback(host):
    assert Settings(web_host=host).web_host == host


def test_production_may_listen_on_every_interface():
    assert Settings(env="production", secret_key=SECRET, web_host="0.0.0.0", **GITHUB).web_host \
        == "0.0.0.0"


def test_the_development_login_grants_no_admin_unless_asked():
    assert Settings().dev_login_admin is False
    assert Settings(dev_login_admin="1").dev_login_admin is True


def test_a_refused_configuration_is_one_clear_error_for_commands(monkeypatch):
    monkeypatch.setenv("RL_ARENA_ENV", "production")
    monkeypatch.delenv("RL_ARENA_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(BadInput) as refused:
            get_settings()
    finally:
        get_settings.cache_clear()
    message = str(refused.value)
    assert "RL_ARENA_SECRET_KEY" in message and "identity provider" in message
    assert "pydantic" not in message and "input_value" not in message


# ---------------------------------------------------------------------- origins of browsers

def test_the_websocket_takes_the_public_urls_origin_and_the_allowed_ones():
    settings = Settings(public_url="https://Arena.Example.org/", allowed_origins=(
        " https://admin.example.org:8443, http://LOCALHOST:8080 ,https://arena.example.org:443"))
    assert settings.browser_origins == ("https://arena.example.org",
                                        "https://admin.example.org:8443",
                                        "http://localhost:8080")


def test_a_public_url_with_a_path_allows_its_origin():
    settings = Settings(public_url="https://example.org/arena/")
    assert settings.browser_origins == ("https://example.org",)


def test_the_development_default_takes_both_loopback_spellings_of_its_port():
    settings = Settings(web_port=3925)
    assert settings.browser_origins == ("http://localhost:3925", "http://127.0.0.1:3925",
                                        "http://[::1]:3925")


@pytest.mark.parametrize("value", ["*", "example.org", "https://example.org/path",
                                   "ftp://example.org", "https://", "https://user@example.org",
                                   "https://example.org?x=1", "https://example.org:99999",
                                   "null"])
def test_an_allowed_origin_that_is_not_an_origin_is_refused_at_load(value):
    with pytest.raises(ValidationError, match="RL_ARENA_ALLOWED_ORIGINS"):
        Settings(allowed_origins=f"https://ok.example.org,{value}")


@pytest.mark.parametrize("value", ["arena.example.org", "ftp://arena.example.org", "https://"])
def test_a_public_url_that_browsers_cannot_open_is_refused_at_load(value):
    with pytest.raises(ValidationError, match="RL_ARENA_PUBLIC_URL"):
        Settings(public_url=value)


def test_admin_emails_must_be_plain_ascii_addresses():
    with pytest.raises(ValidationError, match="RL_ARENA_ADMIN_EMAILS"):
        Settings(admin_emails="ok@example.org, \uff45ve@example.org")


def test_providers_show_only_when_configured_and_admin_emails_are_normalised():
    settings = Settings(oidc_issuer="http://localhost:9400", oidc_client_id="x",
                        google_client_id="only-an-id", admin_emails=" Ann@Example.org, b@x.io,")
    assert settings.login_providers == ["oidc"]
    assert settings.admin_email_set == {"ann@example.org", "b@x.io"}
