"""The admin page's audit log in Chromium against the real platform: paged, filtered by actor,
action and outcome, live, counted refusals, and hostile text shown as text. The admin logs in
through the OpenID Connect provider (an address of RL_ARENA_ADMIN_EMAILS)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.support.browser import ADMIN_EMAIL, TIMEOUT_MS, choose, provider_login

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

HOSTILE = "<img src=x onerror=alert(1)>\u202e"
SHOWN = "<img src=x onerror=alert(1)>"  # what the page shows: the text, without the override
REFUSE = """
from rl_arena_app.errors import BadInput
from rl_arena_app.services.accounts import logins
from rl_arena_app.services.admin import actions

someone = logins.login("oidc", "sub-" + {email!r}, {email!r}, True)
for _ in range({times}):
    try:
        actions.perform(someone, {name!r})
    except BadInput:
        pass
"""


def in_arena(arena, code: str) -> object:
    """Run Python against the arena's database and Redis (in a subprocess); what it printed,
    as JSON."""
    done = subprocess.run([sys.executable, "-c", code], env=arena.env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "null")


def test_the_audit_log_pages_filters_counts_and_shows_hostile_text_as_text(arena, page,
                                                                          oidc_issuer):
    in_arena(arena, "from rl_arena_app.services.admin import actions, audit\n"
                    "for _ in range(55):\n"
                    "    actions.perform(audit.CLI, 'rebuild-leaderboard', 'tictactoe')\n")
    in_arena(arena, REFUSE.format(email="intruder@example.org", name=HOSTILE, times=5))
    total = in_arena(arena, "from rl_arena_app.services.admin import audit\n"
                            "print(sum(e.action == 'rebuild-leaderboard' "
                            "for e in audit.recent(500)))")
    assert total >= 55
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    provider_login(page, arena, oidc_issuer, "root", ADMIN_EMAIL)
    page.goto(f"{arena.url}/admin")
    rows = page.locator("#audit-log .audit-row")
    expect(rows).to_have_count(50, timeout=TIMEOUT_MS)

    choose(page, "#audit-action", "rebuild-leaderboard")  # paging
    pager = page.locator("#pager-text")
    expect(pager).to_have_text(f"1-50 of {total}", timeout=TIMEOUT_MS)
    page.locator("#page-next").click()
    expect(pager).to_have_text(f"51-{total} of {total}", timeout=TIMEOUT_MS)
    expect(rows).to_have_count(total - 50)
    expect(rows.first).to_contain_text("cli")

    page.locator("#audit-actor").fill("INTRUDER")  # the actor, any case; back to the first page
    expect(page.get_by_text("No entry matches these filters")).to_be_visible(
        timeout=TIMEOUT_MS)
    choose(page, "#audit-action", "unknown-action")
    expect(rows).to_have_count(1, timeout=TIMEOUT_MS)
    refusal = rows.first
    expect(refusal).to_contain_text("intruder@example.org")
    expect(refusal).to_contain_text(SHOWN)  # hostile markup is text on the page
    expect(refusal).to_contain_text("5 times")  # five refusals, one row
    expect(page.locator("#audit-log img")).to_have_count(0)
    assert "\u202e" not in refusal.inner_text()

    choose(page, "#audit-outcome", "ok")
    expect(page.get_by_text("No entry matches these filters")).to_be_visible(
        timeout=TIMEOUT_MS)
    choose(page, "#audit-outcome", "refused")
    expect(rows).to_have_count(1, timeout=TIMEOUT_MS)

    # live: another intruder's refusal appears under the same filters, newest first
    in_arena(arena, REFUSE.format(email="intruder-two@example.org", name="drop-tables",
                                  times=1))
    expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    expect(rows.first).to_contain_text("intruder-two@example.org")
    expect(rows.first).to_contain_text("drop-tables")
    assert dialogs == [] and page.errors == []
