"""Agent metadata in Chromium against the real platform: given on /me's upload form, shown on
the agent page (as text, the source as a safe link) and in the leaderboard's algorithm column
and search."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import TIMEOUT_MS, choose, dev_login

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

AGENT = b"""import numpy as np


def act(observation, info):
    return int(np.flatnonzero(info["action_mask"])[-1])
"""
HOSTILE = ('<script>window.__pwned = 1</script>\n<img src=x onerror="window.__pwned = 2">'
           " **not bold**")
SOURCE = "https://example.org/meta/last-legal"
READY_TIMEOUT_MS = 120_000


def test_metadata_given_on_me_is_shown_as_text_on_the_agent_page_and_leaderboard(arena, page):
    dev_login(page, arena, "meta@example.org")
    choose(page, "#upload-env", "tictactoe")
    page.locator("#upload-name").fill("last-legal")
    page.locator("#upload-metadata summary").click()
    page.locator("#upload-algorithm").fill("PPO-meta")
    page.locator("#upload-description").fill(HOSTILE)
    page.locator("#upload-source-url").fill(SOURCE)
    page.locator("#agent-upload input[type=file]").set_input_files(files=[{
        "name": "agent.py", "mimeType": "text/x-python", "buffer": AGENT}])
    page.locator("#upload-button").click()
    expect(page.locator("#upload-message")).to_contain_text("last-legal v1 is queued",
                                                            timeout=TIMEOUT_MS)
    card = page.locator(".my-agent", has_text="last-legal")
    expect(card.locator(".version-card")).to_contain_text("ready", timeout=READY_TIMEOUT_MS)

    page.goto(f"{arena.url}/envs/tictactoe")
    page.locator("#search").fill("ppo-META")
    row = page.locator(".leaderboard-row", has_text="last-legal")
    expect(row.locator(".leaderboard-algorithm")).to_have_text("PPO-meta", timeout=TIMEOUT_MS)
    expect(page.locator(".leaderboard-row")).to_have_count(1)
    page.goto(arena.url + row.get_by_role("link", name="last-legal").get_attribute("href"))
    expect(page.get_by_role("heading", name="last-legal")).to_be_visible(timeout=TIMEOUT_MS)

    version = page.locator(".version-card").first
    expect(version.locator(".version-algorithm")).to_have_text("PPO-meta", timeout=TIMEOUT_MS)
    description = version.locator(".version-description")
    expect(description).to_have_text(HOSTILE)  # the markup is shown, never run
    assert description.locator("script, img, strong").count() == 0
    link = version.locator("a.version-source")
    expect(link).to_have_text(SOURCE)
    assert link.get_attribute("href") == SOURCE and link.get_attribute("target") == "_blank"
    assert set(link.get_attribute("rel").split()) >= {"nofollow", "noopener", "noreferrer"}
    assert page.evaluate("window.__pwned") is None
    assert page.errors == []
