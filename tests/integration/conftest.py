"""Fixtures of the API tests: the API served for real, a client of it, and three people."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rl_arena_app.api.app import create_api
from tests.integration.api_support import Person, person, serving


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
