"""The scheduler follows live events: a new ready submission is matched at once, and new games
refresh Bradley-Terry soon (debounced), long before the fixed timers would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlmodel import func, select

from jobs.scheduler import ArenaScheduler
from rl_arena_app.db.models import EnvState, Game, Match, MatchStatus, Submission, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import events
from rl_arena_app.settings import get_settings
from tests.support.factory import ready_submissions
from tests.support.redis import connection
from tests.support.waiting import seconds_until, wait_for

ENV = "tictactoe"


def matches_in(env_id: str) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Match)
                            .where(Match.env_id == env_id)).one()


def bt_refreshed_at(env_id: str):
    with session_scope() as session:
        state = session.get(EnvState, env_id)
        return None if state is None else state.bt_refreshed_at


@pytest.fixture
def slow_timers(platform, monkeypatch) -> Iterator[ArenaScheduler]:
    """An active scheduler whose fixed timers are far apart (one tick at start, then 10 min)."""
    for name, value in (("MATCHMAKING_INTERVAL_S", "600"), ("BT_REFRESH_S", "600"),
                        ("BT_DEBOUNCE_S", "0.5"), ("BT_MAX_DELAY_S", "5")):
        monkeypatch.setenv(f"RL_ARENA_{name}", value)
    get_settings.cache_clear()
    scheduler = ArenaScheduler(connection=connection(), name="events-test")
    thread = threading.Thread(target=scheduler.serve, daemon=True)
    thread.start()
    wait_for(lambda: scheduler.ticks >= 1, 20, "the first tick")
    try:
        yield scheduler
    finally:
        scheduler.stop()
        thread.join(10)


def test_a_submission_that_becomes_ready_is_matched_at_once(slow_timers):
    assert matches_in(ENV) == 0
    ready_submissions(ENV, 2)  # after the first tick: only the event can pair them now

    events.publish("submission_status", submission_id=1, status="ready", env_id=ENV)

    took = seconds_until(lambda: matches_in(ENV) == 1, 5, "a match for the new submission")
    assert took < 2
    assert slow_timers.ticks == 1, "no periodic tick ran: the event made the match"


def test_new_games_refresh_bradley_terry_soon_and_once_per_burst(slow_timers):
    a, b = ready_submissions(ENV, 2)
    wait_for(lambda: bt_refreshed_at(ENV) is not None, 15, "the refresh soon after start")
    before = bt_refreshed_at(ENV)
    with session_scope() as session:
        match = Match(env_id=ENV, seed=1, player_a_id=a, player_b_id=b,
                      status=MatchStatus.FINISHED)
        session.add(match)
        session.flush()
        session.add(Game(match_id=match.id, index=0, env_id=ENV, player_a_id=a, player_b_id=b,
                         first=0, outcome="win", score_a=1.0, played_at=utcnow()))

    for _ in range(3):  # a burst of results: one refresh after the last
        events.publish("match_finished", match_id=match.id, env=ENV, player_a=a, player_b=b)
        time.sleep(0.1)

    wait_for(lambda: bt_refreshed_at(ENV) != before, 5, "a Bradley-Terry refresh")
    with session_scope() as session:
        rated = session.get(Submission, a)
        assert rated.bt_rating is not None and rated.bt_low < rated.bt_rating < rated.bt_high
    after_burst = bt_refreshed_at(ENV)
    time.sleep(1.0)
    assert bt_refreshed_at(ENV) == after_burst, "the burst made exactly one refresh"


def test_a_new_submission_with_every_opponent_busy_is_matched_when_a_match_ends(slow_timers):
    a, b, newcomer = ready_submissions(ENV, 3)
    with session_scope() as session:  # a and b are playing: the newcomer has no free opponent
        busy = Match(env_id=ENV, seed=1, player_a_id=a, player_b_id=b, status=MatchStatus.RUNNING)
        session.add(busy)
        session.flush()
        busy_id = busy.id
    events.publish("submission_status", submission_id=newcomer, status="ready", env_id=ENV)
    wait_for(lambda: slow_timers._first_match_pending == {ENV}, 5, "a tick that found no one")
    assert matches_in(ENV) == 1

    with session_scope() as session:
        session.get(Match, busy_id).status = MatchStatus.FINISHED
    events.publish("match_finished", match_id=busy_id, env=ENV, player_a=a, player_b=b)

    took = seconds_until(lambda: matches_in(ENV) == 2, 5, "the newcomer's first match")
    assert took < 2 and slow_timers.ticks == 1, "the match's end, not a periodic tick, paired it"
    with session_scope() as session:
        newest = session.exec(select(Match).order_by(Match.id.desc())).first()
    assert newcomer in (newest.player_a_id, newest.player_b_id)
