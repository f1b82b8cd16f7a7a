"""Ids no database can hold are "not found" in every service that takes one, and in the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rl_arena_app.errors import NotFound
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.matches import replays, views
from rl_arena_app.services.submissions import agents, listing

HUGE = [2**31, 10**20, 0, -1]


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("lookup", [
    agents.agent_view, agents.rating_history, agents.submission_view,
    views.match_detail, replays.match_replay, replays.match_replay_file,
    replays.validation_replay, listing.describe,
    lambda entry_id: actions.audit_entry(audit.CLI, entry_id),
], ids=["agent", "ratings", "submission", "match", "replay", "replay-file", "validation",
        "describe", "audit-entry"])
def test_an_id_past_the_database_is_not_found(platform, lookup, value):
    with pytest.raises(NotFound):
        lookup(value)


def test_retiring_an_id_past_the_database_is_not_found(platform):
    from tests.support.api import person

    with pytest.raises(NotFound):
        agents.retire_agent(person("alice@example.org").account, 10**20)


def test_the_cli_says_not_found_for_an_id_past_the_database(platform):
    done = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", "agent", "show",
                           "99999999999999999999"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "no submission 99999999999999999999" in done.stderr
    assert "Traceback" not in done.stderr and "OverflowError" not in done.stderr
