"""Leaderboard snapshots under load: one read per data version however many readers miss it at
once, a failed read shared and not cached, snapshots that cost the garbage collector nothing per
row, one snapshot kept per env (never an older one over a newer), and warming that survives a
database outage."""

from __future__ import annotations

import gc
import logging
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.exc import OperationalError

from rl_arena_app.services import events
from rl_arena_app.services.ratings.leaderboard import leaderboard_page
from rl_arena_app.services.ratings.snapshots import warm
from rl_arena_app.settings import get_settings
from tests.support.factory import add_agents
from tests.support.queries import Outage, snapshot_queries

ENV = "connect_four"
READERS = 6
FLIGHT_S = 2.0  # how long the first snapshot query is held: every reader arrives meanwhile





def at_once(call, arguments: list) -> list:
    """``call(argument)`` for each argument, in threads released together; results or errors."""
    start = threading.Barrier(len(arguments))

    def run(argument):
        start.wait()
        try:
            return call(argument)
        except Outage as exc:
            return exc

    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(run, arguments))


def test_readers_missing_the_same_version_share_one_snapshot_read(platform):
    add_agents(120, ENV)
    limits = [50, 30, 15, 50, 1, 200][:READERS]
    events.invalidate([ENV])

    with snapshot_queries(hold_s=FLIGHT_S) as sent:
        pages = at_once(lambda limit: leaderboard_page(ENV, limit=limit), limits)

    assert len(sent) == 1, f"{len(sent)} snapshot queries for one data version"
    assert [len(p.rows) for p in pages] == [min(n, 120) for n in limits]
    assert pages[0] == pages[3] == leaderboard_page(ENV, limit=50)
    assert all(p.rows == pages[5].rows[:len(p.rows)] for p in pages), "one snapshot for all"


def test_a_failed_read_fails_its_waiters_and_is_not_kept(platform):
    add_agents(20, ENV)
    events.invalidate([ENV])

    with snapshot_queries(hold_s=FLIGHT_S, fail=True) as sent:
        outcomes = at_once(lambda _: leaderboard_page(ENV), list(range(4)))

    assert len(sent) == 1, "the waiters did not read again beside the failing read"
    assert all(isinstance(o, Outage) for o in outcomes), outcomes
    with snapshot_queries() as sent:
        assert leaderboard_page(ENV).total == 20
    assert len(sent) == 1, "the failure was not cached: the next reader reads"


def test_a_cached_snapshot_leaves_the_garbage_collector_nothing_per_row(platform):
    rows = 400
    add_agents(rows, ENV)
    leaderboard_page("tictactoe")  # the same statement, compiled and cached, for another env
    gc.collect()
    tracked = len(gc.get_objects())

    assert leaderboard_page(ENV).total == rows
    gc.collect()
    added = len(gc.get_objects()) - tracked
    assert added < rows // 4, f"{added} objects the collector walks at every collection"


def test_only_the_current_snapshot_of_an_env_is_kept(platform):
    add_agents(400, ENV)
    leaderboard_page("tictactoe")  # the statement compiled and cached
    tracemalloc.start()
    try:
        leaderboard_page(ENV)
        gc.collect()
        one = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            events.invalidate([ENV])
            leaderboard_page(ENV)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 2 * one, f"superseded snapshots held: {held} B after 6 versions, {one} B after 1"


def test_a_late_read_of_an_older_version_leaves_the_newer_snapshot_cached(platform):
    add_agents(30, ENV)
    events.invalidate([ENV])
    with snapshot_queries(hold_s=FLIGHT_S) as sent, ThreadPoolExecutor(1) as pool:
        late = pool.submit(leaderboard_page, ENV)  # its read of this version is held
        while not sent:
            time.sleep(0.01)
        events.invalidate([ENV])
        newer = leaderboard_page(ENV)  # reads the newer version and caches it
        assert late.result() == newer
    assert len(sent) == 2
    with snapshot_queries() as sent:
        assert leaderboard_page(ENV) == newer
    assert sent == [], "the late older snapshot replaced the newer one"


def test_data_versions_are_ordered_within_an_epoch_only():
    assert events.is_older("ab:3", "ab:12") and not events.is_older("ab:12", "ab:3")
    assert not events.is_older("ab:3", "ab:3")
    assert not events.is_older("ab:3", "cd:12") and not events.is_older("cd:12", "ab:3")


def test_warming_reads_once_and_the_pages_then_read_nothing(platform):
    add_agents(30, ENV)
    events.invalidate([ENV])
    with snapshot_queries() as sent:
        warm([ENV, "no-such-env"])
        warm([ENV])
        page = leaderboard_page(ENV, sort="name", search="agent-0001")
    assert len(sent) == 1 and page.total == 10


def test_warming_survives_an_unreachable_database(platform, monkeypatch, caplog):
    monkeypatch.setenv("RL_ARENA_DATABASE_URL",
                       "postgresql+psycopg://nobody:wrong@127.0.0.1:1/none?connect_timeout=2")
    get_settings.cache_clear()
    events.invalidate([ENV])
    with caplog.at_level(logging.WARNING):
        warm([ENV])
    assert f"leaderboard of {ENV} not warmed" in caplog.text
    with pytest.raises(OperationalError):  # a page that needs the board still reports it
        leaderboard_page(ENV)
