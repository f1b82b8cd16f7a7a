"""The dashboard in Chromium against the real platform: every page on live data, live updates,
the replay viewer, forfeits, not-found pages, and no console errors."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
import redis
from playwright.sync_api import expect

from rl_arena_app.arena.referee import derive_seed
from rl_arena_app.arena.run import REPLAY_FORMAT
from tests.support.browser import TIMEOUT_MS, query

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

ENV = "connect_four"
def finished_match(arena, env_id: str = ENV) -> dict:
    """The newest finished match of an env, as the read model gives it."""
    page = query(arena, f"dataclasses.asdict(views.match_page(env_id={env_id!r}, "
                        "status='finished', limit=1))")
    assert page["matches"], "no finished match yet"
    return page["matches"][0]


def open_page(page, url: str, ready: str) -> None:
    page.goto(url)
    expect(page.locator(ready).first).to_be_visible(timeout=TIMEOUT_MS)


# ------------------------------------------------------------------------------------ pages


def test_every_page_renders_real_data(arena, page):
    open_page(page, arena.url, ".env-card")
    expect(page.locator(".env-card")).to_have_count(5)
    expect(page.locator(".feed-item").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#health-workers")).to_have_text("2", timeout=TIMEOUT_MS)

    open_page(page, f"{arena.url}/envs/{ENV}", ".leaderboard-row")
    expect(page.locator("#guide")).to_contain_text("observation[:, :, 0]")
    expect(page.locator("#bt-chart .js-plotly-plot")).to_be_visible(timeout=TIMEOUT_MS)

    match = finished_match(arena)
    open_page(page, f"{arena.url}/matches/{match['match_id']}", ".game-row")
    expect(page.locator("#match-title")).to_contain_text(str(match["match_id"]))
    expect(page.locator("#images")).to_contain_text("rl-arena/agent:")

    agent_id = match["a"]["agent"]["agent_id"]
    open_page(page, f"{arena.url}/agents/{agent_id}", ".version-card")
    expect(page.locator("#rating-chart .js-plotly-plot")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".timeline").first).to_contain_text("ready")

    open_page(page, f"{arena.url}/matches", ".match-row")
    open_page(page, f"{arena.url}/status", ".worker-row")
    expect(page.locator(".worker-row")).to_have_count(2)

    solo = query(arena, "[dataclasses.asdict(r) for r in "
                        "leaderboard.leaderboard_page('CartPole-v1').rows]")
    agent = query(arena, f"dataclasses.asdict(agents.agent_view({solo[0]['agent_id']}))")
    submission = agent["versions"][0]["submission_id"]
    open_page(page, f"{arena.url}/submissions/{submission}/validation", "#episode-chart")
    expect(page.locator("#replay-withheld")).to_contain_text("withheld until the season ends")
    assert page.errors == []


def test_the_leaderboard_shows_what_the_cli_prints(arena, page):
    arena.cli("matchmaking", "pause", ENV)  # hold the ratings still while both are read
    try:
        _wait_until_quiet(arena)
        rows = json.loads(arena.cli("leaderboard", ENV, "--json"))
        open_page(page, f"{arena.url}/envs/{ENV}", ".leaderboard-row")
        shown = page.locator(".leaderboard-row").evaluate_all(
            "rows => rows.map(r => Array.from(r.children).map(c => c.innerText.trim()))")
    finally:
        arena.cli("matchmaking", "resume", ENV)
    assert [(int(r[0]), r[1].split("\n")[0]) for r in shown] == [
        (row["rank"], row["name"]) for row in rows]
    # rank, agent, owner, version, algorithm, then Elo
    assert [r[5] for r in shown] == [f"{row['rating']:.0f}" for row in rows]


def _wait_until_quiet(arena) -> None:
    """Wait until no match of the env is queued or running (matchmaking paused)."""
    deadline = time.monotonic() + 60
    while query(arena, f"views.match_page(env_id={ENV!r}, status='running').total + "
                       f"views.match_page(env_id={ENV!r}, status='queued').total"):
        assert time.monotonic() < deadline, "matches kept running"
        time.sleep(0.5)


def test_unknown_ids_show_a_not_found_page(arena, page):
    for url in ("/envs/chess", "/agents/999999", "/matches/999999", "/agents/abc",
                "/submissions/999999/validation"):
        open_page(page, arena.url + url, "#not-found")
        expect(page.locator("#not-found")).to_contain_text("not found")
    assert page.errors == []


# ------------------------------------------------------------------------------- replays


def test_replay_viewer_steps_to_the_last_board_of_the_replay(arena, page):
    match = finished_match(arena)
    replay = json.loads(gzip.decompress(httpx.get(
        f"{arena.url}/api/v1/matches/{match['match_id']}/replay", timeout=10).content))
    assert replay["format"] == REPLAY_FORMAT
    last = replay["games"][0]["steps"][-1]["state"]
    moves = len(replay["games"][0]["steps"])

    open_page(page, f"{arena.url}/matches/{match['match_id']}", "#board")
    expect(page.locator("#step-number")).to_have_text("0")
    for _ in range(moves):
        page.click("#step-next")
    expect(page.locator("#step-number")).to_have_text(str(moves))
    cells = page.locator("#board [data-piece]").evaluate_all(
        "cells => cells.map(c => c.getAttribute('data-piece')).join('')")
    assert cells == last
    expect(page.locator("#move-text")).to_contain_text(f"move {moves}:")
    page.click("#step-prev")
    expect(page.locator("#step-number")).to_have_text(str(moves - 1))
    page.click("#play")
    expect(page.locator("#step-number")).to_have_text(str(moves), timeout=10_000)
    assert page.errors == []


# ------------------------------------------------------------------------------ live updates


FORFEITS_AFTER_VALIDATION = """\
import numpy as np

VALIDATION_SEEDS = {seeds}


def act(observation, info):
    if info["seed"] in VALIDATION_SEEDS:
        return int(np.flatnonzero(info["action_mask"])[0])
    return 99  # illegal: forfeits every rated game
"""


def test_live_feed_leaderboard_and_timeline_move_without_a_reload(arena, page, browser, tmp_path):
    """A new agent's submission, validation and first matches reach open pages within 2 s."""
    seeds = {derive_seed(0, game, 0) for game in range(2)}
    agent = tmp_path / "agent.py"
    agent.write_text(FORFEITS_AFTER_VALIDATION.format(seeds=seeds))
    board = browser.new_page(viewport={"width": 1280, "height": 800})
    board.goto(f"{arena.url}/envs/{ENV}")
    expect(board.locator(".leaderboard-row").first).to_be_visible(timeout=TIMEOUT_MS)
    open_page(page, arena.url, ".feed-item")
    for tab in (page, board):  # record when each link first appears, and each row's changes
        tab.evaluate("""() => { window.__seen = {}; window.__rows = {};
          new MutationObserver(() => {
            const now = Date.now();
            for (const a of document.querySelectorAll('.feed-item a, .leaderboard-row a'))
              if (!(a.href in window.__seen)) window.__seen[a.href] = now;
            for (const row of document.querySelectorAll('.leaderboard-row')) {
              const href = row.querySelector('a').href, text = row.innerText;
              const seen = window.__rows[href] || (window.__rows[href] = []);
              if (!seen.length || seen[seen.length - 1][1] !== text) seen.push([now, text]);
            } }).observe(document.body, {childList: true, subtree: true, characterData: true});
        }""")
    events = redis.Redis.from_url(_redis_url(arena)).pubsub(ignore_subscribe_messages=True)
    events.subscribe("rl-arena:events")

    added = json.loads(arena.cli("agent", "add", ENV, str(agent), "--name", "late-forfeiter",
                                 "--owner", "e2e@example.org", "--json"))
    published = _wait_for_events(events, added["submission"], added["agent_id"])

    # The agent became ready: its line reached the open overview within 2 s of the event.
    ready_link = f"{arena.url}/agents/{added['agent_id']}"
    seen = _seen(page, ready_link)
    assert seen - published["ready"] < 2000, (seen, published)
    assert _seen(board, ready_link) - published["ready"] < 2000, "its row joined the board"
    # Its first match finished: the feed line, and its row's record moved on the open board.
    match_link = f"{arena.url}/matches/{published['match_id']}"
    assert _seen(page, match_link) - published["match"] < 2000
    moved = _row_change_after(board, ready_link, published["match"])
    assert moved - published["match"] < 2000, "the leaderboard row moved"
    board.close()

    # The match shows the forfeit and its reason.
    open_page(page, match_link, ".game-row")
    expect(page.locator(".game-row").first).to_contain_text("late-forfeiter v1 forfeits")
    expect(page.locator(".game-row").first).to_contain_text("illegal_action")
    open_page(page, ready_link, ".version-card")
    expect(page.locator("#forfeits")).to_contain_text("illegal_action")
    assert page.errors == []


def _redis_url(arena) -> str:
    return json.loads(arena.cli("status", "--json"))["redis_url"]


def _wait_for_events(events, submission_id: int, agent_id: int) -> dict:
    """Publish times (ms) of the submission becoming ready and of its first finished match."""
    found: dict = {}
    deadline = time.monotonic() + 120
    while "match" not in found:
        assert time.monotonic() < deadline, f"no ready/match events for submission {submission_id}"
        message = events.get_message(timeout=1.0)
        if message is None:
            continue
        event = json.loads(message["data"])
        at = _ms(event["at"])
        if (event["kind"] == "submission_status" and event["submission_id"] == submission_id
                and event["status"] == "ready"):
            found["ready"] = at
        elif event["kind"] == "match_finished" and agent_id in (event.get("agent_a"),
                                                                event.get("agent_b")):
            found.update(match=at, match_id=event["match_id"])
    assert "ready" in found
    return found


def _ms(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp() * 1000


def _seen(tab, href: str) -> float:
    """When the link first appeared on the tab (ms since the epoch); waits up to 10 s."""
    deadline = time.monotonic() + 10
    while True:
        seen = tab.evaluate(f"() => window.__seen[{json.dumps(href)}]")
        if seen is not None:
            return seen
        assert time.monotonic() < deadline, f"{href} never appeared on {tab.url}"
        time.sleep(0.1)


def _row_change_after(tab, href: str, since_ms: float) -> float:
    """When the row of ``href`` first changed after ``since_ms`` (waits up to 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        changes = tab.evaluate(f"() => window.__rows[{json.dumps(href)}] || []")
        later = [when for when, _ in changes if when >= since_ms - 50]
        if later:
            return later[0]
        assert time.monotonic() < deadline, f"the row of {href} did not change: {changes}"
        time.sleep(0.1)


def test_pages_at_phone_width_scroll_their_tables(arena, browser):
    match = finished_match(arena)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    for path, ready in (("/", ".env-card"), (f"/envs/{ENV}", ".leaderboard-row"),
                        (f"/matches/{match['match_id']}", "#board"), ("/matches", ".match-row"),
                        ("/status", ".worker-row")):
        phone.goto(arena.url + path)
        expect(phone.locator(ready).first).to_be_visible(timeout=TIMEOUT_MS)
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path}: the page must not scroll sideways (its tables do)"
    phone.close()
