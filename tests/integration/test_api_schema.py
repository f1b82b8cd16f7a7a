"""The running API against its own OpenAPI document (Schemathesis): no 5xx, and every answer
has a documented status, content type and shape. Requests carry an admin token, so the write
and admin routes are reached too; a few examples per route keep it to well under a minute.

Schemathesis keeps nothing in the checkout: its cache (`.schemathesis/` by default) is off."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rl_arena_app.api.app import create_api
from tests.support.factory import agent_of, make_ready, played_match

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


ROOT = Path(__file__).resolve().parents[2]
schema = schemathesis.openapi.from_dict(
    create_api().openapi(), config=SchemathesisConfig.from_dict({"cache": {"enabled": False}}))


@pytest.fixture(name="arena")
def arena_fixture(api_url, alice) -> str:
    """The served API, with some agents and a match for the examples to find."""
    mine, theirs = agent_of(alice, "a"), agent_of(alice, "b")
    make_ready(mine, theirs)
    played_match(mine, theirs)
    return api_url


@schema.parametrize()
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_keeps_to_its_schema(case, arena, root):
    case.call_and_validate(base_url=arena, headers=root.auth, checks=CHECKS, timeout=30)


def test_the_run_leaves_no_schemathesis_folder_in_the_checkout():
    """Runs after the schema tests above (pytest keeps a file's order)."""
    assert not (ROOT / ".schemathesis").exists()
