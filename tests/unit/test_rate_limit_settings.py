"""Rate-limit settings fail fast with the setting's name; client addresses behind proxies."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from rl_arena_app.api.client_address import client_address
from rl_arena_app.services.rate_limits import address_key
from rl_arena_app.settings import Settings


@pytest.mark.parametrize(("field", "value", "words"), [
    ("rate_limit_api_token", "600/minit", "RL_ARENA_RATE_LIMIT_API_TOKEN='600/minit' is not a"),
    ("rate_limit_login", "thirty a minute", "RL_ARENA_RATE_LIMIT_LOGIN"),
    ("rate_limit_uploads", "0/hour", "allows no call at all"),
    ("trusted_proxies", "10.0.0.1, proxy.local", "RL_ARENA_TRUSTED_PROXIES: 'proxy.local'"),
])
def test_a_mistyped_setting_fails_at_load_naming_it(field, value, words):
    with pytest.raises(ValidationError, match=words.replace("(", r"\(")):
        Settings(**{field: value})


def test_rate_limits_in_the_limits_notation_or_off_are_accepted():
    settings = Settings(rate_limit_api_token="10/second;300/minute",
                        rate_limit_bad_token="5 per 10 seconds", rate_limit_login=" ",
                        trusted_proxies="10.0.0.0/8, 2001:db8::1")
    assert settings.rate_limit_login == ""  # off
    assert settings.rate_limit_bad_token == "5 per 10 seconds"


LOCAL = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/24"))


def request(peer: str, *forwarded_for: str) -> dict:
    return {"client": (peer, 50000),
            "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded_for]}


@pytest.mark.parametrize(("scope", "client"), [
    (request("203.0.113.5"), "203.0.113.5"),
    (request("203.0.113.5", "198.51.100.1"), "203.0.113.5"),  # not our proxy: ignored
    (request("127.0.0.1", "198.51.100.1"), "198.51.100.1"),
    (request("127.0.0.1", "6.6.6.6, 198.51.100.1"), "198.51.100.1"),  # the client's own words
    (request("127.0.0.1", "198.51.100.1, 10.0.0.7"), "198.51.100.1"),  # through two proxies
    (request("127.0.0.1", "6.6.6.6", "198.51.100.1"), "198.51.100.1"),  # two headers
    (request("127.0.0.1", "not-an-address"), "127.0.0.1"),
    (request("127.0.0.1"), "127.0.0.1"),
    (request("::ffff:127.0.0.1", "[2001:db8::1]"), "2001:db8::1"),
    ({"client": None, "headers": []}, "unknown"),
])
def test_the_client_is_the_first_address_left_of_our_proxies(scope, client):
    assert client_address(scope, LOCAL) == client


def test_ipv6_clients_are_counted_by_their_slash_64():
    assert address_key("2001:db8:1:2::7") == address_key("2001:db8:1:2:ffff::1") \
        == "2001:db8:1:2::/64"
    assert address_key("::ffff:198.51.100.1") == "198.51.100.1"
    assert address_key("198.51.100.1") == "198.51.100.1"
