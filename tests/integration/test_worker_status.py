"""Status stays true through a Redis restart: workers register again, with their state and job."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
import redis
from rq import Queue

from jobs.redis_server import EmbeddedRedis
from rl_arena_app.services.status import platform_status
from rl_arena_app.settings import get_settings
from tests.support.processes import spawn, stop
from tests.support.waiting import wait_for

NAME = "steady-1"
# The documented bound (jobs/worker.py): a heartbeat every 5 s, reconnection attempts at most
# 5 s apart; the rest is margin for a loaded 2-core machine.
LISTED_AGAIN_WITHIN_S = 20
OUTAGE_S = 7  # longer than a heartbeat


@pytest.fixture
def restartable_redis(platform, tmp_path, monkeypatch) -> Iterator[EmbeddedRedis]:
    """A Redis of this test alone (it is restarted), on a migrated database."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    monkeypatch.setenv("RL_ARENA_REDIS_URL", server.url)
    monkeypatch.setenv("RL_ARENA_SANDBOX", "process")  # the jobs here only sleep: no Docker
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


@pytest.fixture
def worker(restartable_redis, tmp_path) -> Iterator[int]:
    """A real `rl-arena worker`, listed by status; yields its pid."""
    log = tmp_path / "worker.log"
    process = spawn("worker", "--name", NAME, log=log)
    try:
        wait_for(lambda: listed() or process.poll() is not None, 60, "the worker to register")
        assert process.poll() is None, log.read_text()
        yield process.pid
    finally:
        stop(process, signal.SIGKILL)  # its work horse dies with it


def listed() -> dict | None:
    """The worker as `rl-arena status --json` shows it, or None."""
    return next((w for w in platform_status()["workers"] if w["name"] == NAME), None)


def restart(server: EmbeddedRedis, down_s: float = 0.0) -> float:
    """Stop Redis, start it again on the same socket after ``down_s`` (everything in it is
    lost); when it is back."""
    marker = redis.Redis.from_url(server.url)
    marker.set("rl-arena:test:before-restart", 1)
    server.stop()
    time.sleep(down_s)
    server.start()
    assert marker.get("rl-arena:test:before-restart") is None, "the restart kept the data"
    return time.monotonic()


def listed_in(state: str) -> dict | None:
    """The worker's row if status lists it in ``state``."""
    row = listed()
    return row if row is not None and row["state"] == state else None


@pytest.mark.slow
def test_an_idle_worker_is_listed_again_soon_after_a_redis_restart(restartable_redis, worker):
    wait_for(lambda: listed_in("idle"), 30, "the worker to wait for jobs")
    back = restart(restartable_redis)
    row = wait_for(lambda: listed_in("idle"), LISTED_AGAIN_WITHIN_S, "the worker, idle, again")
    assert (row["pid"], row["current_job"]) == (worker, None)
    assert time.monotonic() - back < LISTED_AGAIN_WITHIN_S


@pytest.mark.slow
def test_a_busy_worker_is_listed_again_with_its_job_after_a_redis_restart(restartable_redis,
                                                                        worker):
    job = Queue("matches", connection=redis.Redis.from_url(restartable_redis.url)).enqueue(
        time.sleep, 120, job_timeout=180)
    row = wait_for(lambda: listed_in("busy"), 60, "the worker to take the job")
    assert row["current_job"] == job.id
    back = restart(restartable_redis, down_s=OUTAGE_S)  # a heartbeat falls in the outage
    row = wait_for(lambda: listed_in("busy"), LISTED_AGAIN_WITHIN_S, "the worker, busy, again")
    assert (row["pid"], row["current_job"]) == (worker, job.id)
    assert time.monotonic() - back < LISTED_AGAIN_WITHIN_S

