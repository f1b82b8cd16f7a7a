"""The admin "Re-run" button of a match page in Chromium against the real platform: a worker plays
a finished match of house agents again in fresh Docker sandboxes, the page follows it live to
`identical`, and the admin page's audit log lists it; anyone else sees no button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    ADMIN_EMAIL,
    TIMEOUT_MS,
    choose,
    dev_login,
    provider_login,
    query,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

# tictactoe's house agents are deterministic: builtin:random reseeds its generator from the
# game's seed at each reset, builtin:minimax draws no random number at all.
ENV = "tictactoe"
HOUSE_AGENTS = {"random", "minimax"}
RERUN_TIMEOUT_MS = 240_000  # cold sandboxes: the images prepared again, every game replayed


def house_match(arena) -> int:
    """The newest finished tictactoe match between two house agents (waiting for one)."""
    def found() -> int | None:
        page = query(arena, f"dataclasses.asdict(views.match_page(env_id={ENV!r}, "
                            "status='finished', limit=100))")
        return next((m["match_id"] for m in page["matches"]
                     if {m["a"]["agent"]["owner_name"], m["b"]["agent"]["owner_name"]} == {"House"}
                     and {m["a"]["agent"]["name"], m["b"]["agent"]["name"]} <= HOUSE_AGENTS),
                    None)

    return wait_for(found, 300, f"a finished {ENV} match of house agents", poll_s=2)


def test_an_admin_reruns_a_finished_match_and_sees_it_identical_and_audited(arena, page,
                                                                             oidc_issuer):
    match_id = house_match(arena)
    provider_login(page, arena, oidc_issuer, "root", ADMIN_EMAIL)
    page.goto(f"{arena.url}/matches/{match_id}")
    expect(page.locator("#match-title")).to_have_text(f"Match #{match_id}", timeout=TIMEOUT_MS)
    outcome = page.locator("#rerun-outcome")
    expect(outcome).to_have_count(0)  # nothing before the click

    page.locator("#rerun").click()
    expect(outcome).to_contain_text("running", timeout=TIMEOUT_MS)  # the worker's progress
    expect(outcome).to_have_text("identical", timeout=RERUN_TIMEOUT_MS)  # live, no reload
    expect(page.locator("#rerun-error")).to_have_count(0)

    page.goto(f"{arena.url}/admin")
    choose(page, "#audit-action", "rerun-match")
    row = page.locator("#audit-log .audit-row").first
    cells = row.locator("td")
    expect(cells.nth(3)).to_have_text(str(match_id), timeout=TIMEOUT_MS)  # the target
    expect(cells.nth(1)).to_have_text(ADMIN_EMAIL)
    expect(cells.nth(2)).to_have_text("rerun-match")
    expect(cells.nth(4)).to_have_text("ok")
    expect(cells.nth(5)).to_have_text("identical")
    assert page.errors == []


def test_a_signed_in_non_admin_sees_no_rerun_button(arena, page):
    match_id = house_match(arena)
    dev_login(page, arena, "onlooker@example.org")
    page.goto(f"{arena.url}/matches/{match_id}")
    expect(page.locator("#match-title")).to_have_text(f"Match #{match_id}", timeout=TIMEOUT_MS)
    expect(page.locator("#games .game-row").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#rerun")).to_have_count(0)
    expect(page.get_by_role("button", name="Re-run")).to_have_count(0)
    assert page.errors == []
