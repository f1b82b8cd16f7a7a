"""The scheduler's lock, its tick, pausing, workers and `rl-arena status`, on real Redis and DB."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from click.testing import CliRunner
from rq import Queue, Worker
from sqlmodel import func, select

from jobs.scheduler import TICKS_KEY, ArenaScheduler
from rl_arena_app.broker import LOCK_KEY, holder
from rl_arena_app.cli import main
from rl_arena_app.db.models import Match, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.settings import get_settings
from tests.support.factory import ready_submissions
from tests.support.processes import spawn, stop
from tests.support.redis import connection

ENV = "tictactoe"


def match_count(env_id: str) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Match)
                            .where(Match.env_id == env_id)).one()


@pytest.fixture
def fast(platform, monkeypatch):
    """Settings with a 1 s matchmaking interval (lock TTL 3 s)."""
    monkeypatch.setenv("RL_ARENA_MATCHMAKING_INTERVAL_S", "1")
    get_settings.cache_clear()
    return get_settings()


def test_only_one_scheduler_holds_the_lock_and_another_takes_over(fast):
    first = ArenaScheduler(connection=connection(), name="first")
    second = ArenaScheduler(connection=connection(), name="second")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert holder(connection()) == "first"
    assert first.renew()
    assert not second.renew()
    assert second.run_tick() is None  # not the active one: no tick
    assert second.run_reaper() is None
    # `first` dies (stops renewing): its lock expires after the TTL and `second` takes over.
    deadline = time.monotonic() + first.ttl + 2
    while not second.try_acquire():
        assert time.monotonic() < deadline, "the lock never expired"
        time.sleep(0.2)
    assert holder(connection()) == "second"
    assert not first.renew()
    second.release()
    assert connection().get(LOCK_KEY) is None


def test_pause_stops_matchmaking_and_resume_restarts_it(platform):  # lock TTL 30 s
    ready_submissions(ENV, 4)
    runner = CliRunner()
    assert runner.invoke(main, ["matchmaking", "pause", ENV]).exit_code == 0
    scheduler = ArenaScheduler(connection=connection(), name="solo")
    assert scheduler.try_acquire()
    made = scheduler.run_tick()
    assert made is not None and made.get(ENV) == []
    assert match_count(ENV) == 0
    assert runner.invoke(main, ["matchmaking", "resume", ENV]).exit_code == 0
    made = scheduler.run_tick()
    assert made[ENV], "a resumed env with four ready submissions gets matches"
    assert match_count(ENV) == len(made[ENV])
    assert Queue("matches", connection=connection()).count == len(made[ENV])
    scheduler.release()


def test_a_disabled_env_takes_no_submissions_and_makes_no_matches(platform, tmp_path):
    from rl_arena_app.services.submissions.intake import submit

    ready_submissions(ENV, 4)
    runner = CliRunner()
    assert runner.invoke(main, ["env", "disable", ENV]).exit_code == 0
    scheduler = ArenaScheduler(connection=connection(), name="solo")
    assert scheduler.try_acquire()
    assert scheduler.run_tick().get(ENV) == []
    agent = tmp_path / "agent.py"
    agent.write_text("def act(observation, info):\n    return 0\n")
    result = runner.invoke(main, ["agent", "add", ENV, str(agent), "--name", "late",
                                  "--owner", "late@example.com"])
    assert result.exit_code == 2 and "disabled" in result.output
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(Submission)).one() == 4
    assert runner.invoke(main, ["env", "enable", ENV]).exit_code == 0
    assert scheduler.run_tick().get(ENV), "an enabled env with four ready submissions is paired"
    assert submit(str(agent), env_id=ENV, name="late", owner_email="late@example.com",
                  enqueue=False).version == 1
    scheduler.release()
    assert runner.invoke(main, ["env", "disable", "no-such-env"]).exit_code == 2


def test_matchmaking_pause_of_unknown_or_solo_env_is_bad_input(platform):
    runner = CliRunner()
    result = runner.invoke(main, ["matchmaking", "pause", "no-such-env"])
    assert result.exit_code == 2 and "unknown environment" in result.output
    result = runner.invoke(main, ["matchmaking", "resume", "CartPole-v1"])
    assert result.exit_code == 2 and "solo" in result.output


def test_status_json_shape(platform):
    ready_submissions(ENV, 2)
    worker = Worker([Queue("builds", connection=connection())], connection=connection(),
                    name="status-probe")
    worker.register_birth()
    try:
        result = CliRunner().invoke(main, ["status", "--json"])
    finally:
        worker.register_death()
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    probe = next(w for w in data["workers"] if w["name"] == "status-probe")
    assert probe["pid"] == os.getpid() and isinstance(probe["state"], str)
    assert set(data["queues"]) == {"builds", "matches"}
    assert all(isinstance(v["queued"], int) for v in data["queues"].values())
    assert data["matches"] == {"queued": 0, "running": 0, "finished": 0, "failed": 0}
    assert data["submissions"]["ready"] == 2
    assert set(data["submissions"]) == {"queued", "building", "validating", "ready", "failed"}
    assert data["games"] == 0 and data["rating_events"] == 0
    text = CliRunner().invoke(main, ["status"])
    assert text.exit_code == 0 and "matches: queued 0" in text.output


# ---------------------------------------------------------------------- real processes


def boom() -> None:
    """A job that fails."""
    raise ValueError("this job fails on purpose")


def mark(key: str) -> None:
    """A job that succeeds and leaves a trace."""
    connection().set(key, "done")


@pytest.mark.slow
def test_a_failing_job_does_not_kill_the_worker(platform, tmp_path):
    queue = Queue("builds", connection=connection())
    queue.enqueue(boom)
    queue.enqueue(mark, "rl-arena:test:after-boom")
    worker = spawn("worker", "--burst", "--name", "burst-1", log=tmp_path / "worker.log")
    assert worker.wait(120) == 0, (tmp_path / "worker.log").read_text()
    assert connection().get("rl-arena:test:after-boom") == b"done"
    assert queue.failed_job_registry.count == 1


def ticks() -> dict[str, int]:
    return {k.decode(): int(v) for k, v in connection().hgetall(TICKS_KEY).items()}


@pytest.mark.slow
def test_two_scheduler_processes_only_one_ticks_and_the_other_takes_over(fast, tmp_path):
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    first = spawn("scheduler", log=logs[0])
    time.sleep(0.5)  # let the first one win the lock
    second = spawn("scheduler", log=logs[1])
    try:
        deadline = time.monotonic() + 60
        while max(ticks().values(), default=0) < 4:
            assert time.monotonic() < deadline, [p.read_text() for p in logs]
            assert first.poll() is None and second.poll() is None, [p.read_text() for p in logs]
            time.sleep(0.2)
        counts = ticks()
        assert len(counts) == 1, counts  # only one scheduler ticked
        active_name = holder(connection())
        assert active_name in counts
        active, waiting = (first, second) if active_name.endswith(f".{first.pid}") \
            else (second, first)
        assert "waiting" in logs[[first, second].index(waiting)].read_text()
        stop(active, signal.SIGKILL)  # dies without releasing: the lock must expire
        deadline = time.monotonic() + 3 * get_settings().matchmaking_interval_s + 30
        while len(ticks()) < 2:
            assert time.monotonic() < deadline, [p.read_text() for p in logs]
            time.sleep(0.2)
        assert holder(connection()).endswith(f".{waiting.pid}")
    finally:
        stop(first)
        stop(second)
    assert connection().get(LOCK_KEY) is None  # the survivor released it on SIGTERM
