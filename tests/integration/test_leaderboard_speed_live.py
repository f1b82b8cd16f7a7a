"""The dashboard's side of fast reads: the live listener reads a moved board once, before the tabs
ask for it, and only when a tab shows it; the empty figure of a hidden chart is built once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from plotly.io import to_json

from rl_arena_app.services import events
from rl_arena_app.services.ratings.leaderboard import leaderboard_page
from rl_arena_app.ui import charts
from rl_arena_app.ui.live import ARENA, BOARD, _apply, agent_topic, env_topic
from tests.support.factory import add_agents
from tests.support.queries import snapshot_queries

ENV = "connect_four"
BT_REFRESHED = {"kind": "bt_refreshed", "env": ENV}  # moves the board, makes no feed line


@pytest.fixture(scope="module")
def app() -> SimpleNamespace:
    """An app that serves no browser (what the listener asks of one: its event namespace): no tab
    of it is connected, so a push only forgets them. A second rx.App() cannot be made in a
    process that imported the dashboard (Reflex registers one app per process)."""
    return SimpleNamespace(event_namespace=None)


@pytest.fixture
def board() -> Iterator:
    """The process's board of tabs, left as found."""
    yield BOARD
    for tab in list(BOARD.topics_of):
        BOARD.forget(tab)


def applied(app: SimpleNamespace, *tabs: tuple[str, set[str]]) -> list[str]:
    """Open ``tabs`` (name, topics), move the env's data, apply a batch moving it: the SELECTs
    sent while the batch was applied."""
    for tab, topics in tabs:
        BOARD.follow(tab, topics)
    events.invalidate([ENV])
    with snapshot_queries() as sent:
        asyncio.run(_apply(app, [BT_REFRESHED]))
    return sent


def test_a_moved_board_is_read_once_before_the_tabs_showing_it(platform, app, board):
    add_agents(30, ENV)
    assert applied(app, ("agent-tab", {agent_topic(1)})) == [], "no tab shows the board"
    assert applied(app, ("audit-tab", {"audit"})) == []

    assert len(applied(app, ("env-tab", {env_topic(ENV)}))) == 1
    with snapshot_queries() as sent:
        page = leaderboard_page(ENV, limit=50)
    assert sent == [] and page.total == 30, "the tab's page found it read"

    assert len(applied(app, ("overview-tab", {ARENA}))) == 1, "the overview shows its leader"


def test_the_empty_figure_is_built_once_and_unchanged():
    shared = charts.empty_figure("No games between the leaders yet")
    assert charts.empty_figure("No games between the leaders yet") is shared
    assert charts.empty_figure("") is not shared
    charts.empty_figure.cache_clear()
    fresh = charts.empty_figure("No games between the leaders yet")
    assert fresh is not shared and to_json(fresh) == to_json(shared)
    assert "No games between the leaders yet" in to_json(shared)
