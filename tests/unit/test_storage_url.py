"""RL_ARENA_STORAGE_URL: unset is the data dir; an object store URL is kept; anything else is
refused at load with a message naming the setting (and never echoing a credential)."""

from __future__ import annotations

import pytest

from rl_arena_app.settings import SettingsRefused, get_settings


@pytest.fixture
def storage_url(monkeypatch):
    """Set RL_ARENA_STORAGE_URL and load the settings afresh; the settings or the refusal."""
    def load(value: str):
        monkeypatch.setenv("RL_ARENA_STORAGE_URL", value)
        get_settings.cache_clear()
        try:
            return get_settings()
        finally:
            get_settings.cache_clear()
    return load


@pytest.mark.parametrize("value", [
    "s3://arena", "s3://arena/prod/v1", "gs://arena-data/x", "az://arena/prefix",
    "azure://arena", "file:///srv/arena/objects"])
def test_object_store_urls_are_kept(storage_url, value):
    assert storage_url(value).storage_url == value


def test_unset_or_empty_is_the_data_dir(storage_url, monkeypatch):
    assert storage_url("").storage_url is None
    monkeypatch.delenv("RL_ARENA_STORAGE_URL")
    assert get_settings().storage_url is None


@pytest.mark.parametrize("value", [
    "ftp://arena/x", "s3://", "s3:///prefix", "s3://Arena", "arena", "/srv/arena",
    "file://relative/path", "file:///", "s3://arena/x?versioning=1", "s3://arena/a b",
    "https://s3.amazonaws.com/arena"])
def test_other_values_are_refused_naming_the_setting(storage_url, value):
    with pytest.raises(SettingsRefused) as caught:
        storage_url(value)

    message = str(caught.value)
    assert message.startswith("RL_ARENA_STORAGE_URL: ") and repr(value) in message
    assert "s3://BUCKET[/PREFIX]" in message and "\n" not in message


def test_credentials_in_the_url_are_refused_without_echoing_them(storage_url):
    with pytest.raises(SettingsRefused) as caught:
        storage_url("s3://AKIDEXAMPLE:wJalrXUtnFEMI@arena/prefix")

    message = str(caught.value)
    assert "must not carry credentials" in message and "AWS_ACCESS_KEY_ID" in message
    assert "wJalrXUtnFEMI" not in message and "AKIDEXAMPLE" not in message
