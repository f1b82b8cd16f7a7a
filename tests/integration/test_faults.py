"""Faults: a worker killed mid-match, and a flushed Redis; the database heals the platform."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from rq import Queue

from jobs.scheduler import ArenaScheduler
from jobs.tasks import configured_runner
from rl_arena_app.arena import envs
from rl_arena_app.db.models import Game, Match, MatchStatus, SubmissionStatus
from rl_arena_app.db.session import session_scope
from rl_arena_app.settings import get_settings
from tests.support.containers import orphans
from tests.support.factory import ready_submissions
from tests.support.processes import spawn, stop
from tests.support.ratings import recorded
from tests.support.redis import connection
from tests.support.rows import count
from tests.support.waiting import wait_for

ENV = "tictactoe"
# Legal but slow: a match lasts a few seconds, long enough to kill its worker in the middle.
SLOW_LEGAL = """\
import time

import numpy as np


def act(observation, info):
    time.sleep(0.25)
    return int(np.flatnonzero(info["action_mask"])[0])
"""


def match(match_id: int) -> Match:
    with session_scope() as session:
        return session.get(Match, match_id)


def built(path: Path, name: str, owner: str) -> int:
    """A submitted, built and validated (ready) submission of ``path``."""
    from jobs.sandbox.docker import DockerEngine
    from rl_arena_app.services.submissions import builds, intake
    from rl_arena_app.services.submissions import listing as subs

    submission = intake.submit(str(path), env_id=ENV, name=name, owner_email=owner, enqueue=False)
    builds.build_and_validate(submission.id, configured_runner())
    DockerEngine.drain()  # the next engine's orphan sweep must not race these removals
    row = subs.describe(submission.id)
    assert row["status"] == SubmissionStatus.READY, row
    return submission.id


@pytest.mark.docker
@pytest.mark.slow
def test_worker_killed_mid_match_is_replayed_and_applied_once(platform, docker_engine,
                                                              monkeypatch, tmp_path):
    from rl_arena_app.services.matches.pairing import matchmaking_tick
    from rl_arena_app.services.matches.queue import requeue_stale

    monkeypatch.setenv("RL_ARENA_SANDBOX", "docker")
    monkeypatch.setenv("RL_ARENA_MATCH_DEADLINE_S", "8")
    get_settings.cache_clear()
    agent = tmp_path / "agent.py"
    agent.write_text(SLOW_LEGAL)
    built(agent, "slow-a", "alice@example.org")
    built(agent, "slow-b", "bob@example.org")
    [match_id] = matchmaking_tick(ENV, seed=1)

    first = spawn("worker", "--name", "doomed", log=tmp_path / "doomed.log")
    try:
        wait_for(lambda: match(match_id).status == MatchStatus.RUNNING, 120, "the match to start")
        time.sleep(1.0)  # mid-match: containers up, moves being played
        assert match(match_id).status == MatchStatus.RUNNING
    finally:
        stop(first, signal.SIGKILL)  # the worker and its work horse, without any cleanup
    assert count(Game, Game.match_id == match_id) == 0

    deadline = match(match_id).deadline
    wait_for(lambda: requeue_stale() == [match_id], 30, f"the reaper after {deadline}", 0.5)
    second = spawn("worker", "--burst", "--name", "rescuer", log=tmp_path / "rescuer.log")
    try:
        assert second.wait(180) == 0, (tmp_path / "rescuer.log").read_text()
    finally:
        stop(second)

    final = match(match_id)
    assert final.status == MatchStatus.FINISHED, (final, (tmp_path / "rescuer.log").read_text())
    games = count(Game, Game.match_id == match_id)
    assert games == envs.spec(ENV).games
    assert recorded() == (games, 2 * games)
    # Running the stale job again changes nothing: the result is applied once.
    from rl_arena_app.services.matches.play import play_match

    play_match(match_id, configured_runner())
    assert recorded() == (games, 2 * games)
    assert not orphans(docker_engine), "the rescuer's start sweeps the killed worker's containers"


@pytest.mark.slow
def test_redis_flush_requeues_pending_matches_and_keeps_leaderboards(platform, monkeypatch):
    from rl_arena_app.services.ratings.leaderboard import leaderboard_page

    monkeypatch.setenv("RL_ARENA_MATCHMAKING_INTERVAL_S", "0.5")
    get_settings.cache_clear()
    ready_submissions(ENV, 4)
    redis = connection()
    queue = Queue("matches", connection=redis)

    def queued_in_db() -> int:
        return count(Match, Match.status == MatchStatus.QUEUED)

    scheduler = ArenaScheduler(connection=connection(), name="healer")
    thread = threading.Thread(target=scheduler.serve, daemon=True)
    thread.start()
    try:
        wait_for(lambda: queued_in_db() == 2 and queue.count == 2, 30, "two queued matches")
        board = leaderboard_page(ENV)
        assert board.total == 4
        ticks_before = scheduler.ticks

        redis.flushall()
        assert queue.count == 0
        assert leaderboard_page(ENV) == board  # read from the database, whatever Redis lost
        wait_for(lambda: queue.count == 2, 30, "re-enqueued matches")
        assert queued_in_db() == 2  # no duplicate matches were made
        wait_for(lambda: scheduler.ticks > ticks_before + 1, 30, "ticks after the flush")
        assert queue.count == 2
    finally:
        scheduler.stop()
        thread.join(30)
    assert not thread.is_alive()
