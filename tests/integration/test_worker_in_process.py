"""A worker plays matches in its own process: one process from match to match, heartbeats while
one runs, a match past its timeout stopped without the worker, shutdowns that leave nothing;
builds still get a work horse, spawned, that dies with the worker."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from rq import Queue, Worker, worker_registration
from rq.command import send_stop_job_command
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from jobs.worker import HEARTBEAT_S
from rl_arena_app.broker import BUILDS, MATCHES, build_job_id, match_job_id
from rl_arena_app.db.models import Game, MatchStatus, SubmissionStatus
from rl_arena_app.services import metrics
from rl_arena_app.services.matches.queue import requeue_stale
from rl_arena_app.services.status import platform_status
from rl_arena_app.services.submissions import intake
from rl_arena_app.services.submissions import listing as subs
from rl_arena_app.settings import get_settings
from tests.support.agents import FIRST_LEGAL
from tests.support.processes import spawn, stop
from tests.support.redis import connection
from tests.support.rows import count
from tests.support.waiting import wait_for
from tests.support.worker_matches import match_row, player_of, queued_match, ready_pair

NAME = "in-process-1"
# Legal and slow, yet well inside the move limit (1 s): a match lasts seconds per game.
SLOW = """\
import time

import numpy as np


def act(observation, info):
    time.sleep(0.6)
    return int(np.flatnonzero(info["action_mask"])[0])
"""


@contextmanager
def worker_process(tmp_path: Path, *flags: str,
                   stop_with: int = signal.SIGTERM) -> Iterator[tuple[subprocess.Popen, Path]]:
    """A real `rl-arena worker` (and its log) until the block ends, then stopped."""
    log = tmp_path / "worker.log"
    worker = spawn("worker", "--name", NAME, *flags, log=log)
    try:
        yield worker, log
    finally:
        stop(worker, stop_with)


def started_match(match_id: int, worker: subprocess.Popen) -> None:
    """Wait until ``worker`` runs the match."""
    wait_for(lambda: match_row(match_id).status == MatchStatus.RUNNING or worker.poll()
             is not None, 120, "the match to start")
    assert worker.poll() is None, "the worker ended"


def listed_as(state: str, job_id: str | None) -> dict | None:
    """The worker's `rl-arena status` row if it is listed in ``state`` with ``job_id``."""
    row = next((w for w in platform_status()["workers"] if w["name"] == NAME), None)
    return row if row and (row["state"], row["current_job"]) == (state, job_id) else None


@pytest.fixture
def slow_matches(process_sandbox, monkeypatch):
    """Matches of six games: a slow pair plays for about half a minute."""
    monkeypatch.setenv("RL_ARENA_MATCH_GAMES", "6")
    get_settings.cache_clear()


def test_matches_are_played_in_the_workers_own_process(process_sandbox, tmp_path):
    pair = ready_pair(FIRST_LEGAL, tmp_path, "quick")
    first, second = queued_match(pair), queued_match(pair)
    with worker_process(tmp_path, "--burst") as (worker, log):
        assert worker.wait(180) == 0, log.read_text()
    for match_id in (first, second):
        match = match_row(match_id)
        assert match.status == MatchStatus.FINISHED, log.read_text()
        assert match.worker == player_of(worker), "played in a work horse, not in the worker"


# ------------------------------------------------------------------------- heartbeats


def forget_the_worker() -> None:
    """Make Redis forget the worker, as a restart or a flush does."""
    redis = connection()
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + NAME, connection=redis)
    assert worker is not None
    worker_registration.unregister(worker)
    redis.delete(worker.key, worker.executions_key)


def beats(job_id: str) -> tuple[bytes | None, float | None]:
    """The worker's last heartbeat and the expiry its job's execution has in the started
    registry (pushed forward by each execution heartbeat)."""
    redis = connection()
    last = redis.hget(Worker.redis_worker_namespace_prefix + NAME, "last_heartbeat")
    registry = StartedJobRegistry(MATCHES, connection=redis)
    scores = [score for member, score in redis.zrange(registry.key, 0, -1, withscores=True)
              if member.decode().startswith(f"{job_id}:")]
    return last, max(scores, default=None)


@pytest.mark.slow
def test_a_worker_beats_and_registers_again_while_a_match_runs_in_it(slow_matches, tmp_path):
    match_id = queued_match(ready_pair(SLOW, tmp_path, "slow"))
    job_id = match_job_id(match_id, 0)
    with worker_process(tmp_path) as (worker, log):
        started_match(match_id, worker)
        wait_for(lambda: listed_as("busy", job_id), 30, "the worker, busy")
        forget_the_worker()
        assert listed_as("busy", job_id) is None
        wait_for(lambda: listed_as("busy", job_id), 2 * HEARTBEAT_S + 10,
                 "the worker to register again, busy with its match")
        seen = {beats(job_id)}
        while match_row(match_id).status == MatchStatus.RUNNING:
            seen.add(beats(job_id))
            assert worker.poll() is None, log.read_text()
            time.sleep(0.5)
        assert match_row(match_id).status == MatchStatus.FINISHED, log.read_text()
        assert match_row(match_id).worker == player_of(worker)
    heartbeats = {last for last, _ in seen if last is not None}
    expiries = sorted({expiry for _, expiry in seen if expiry is not None})
    assert len(heartbeats) >= 3, f"the worker beat {len(heartbeats)} time(s) in its match"
    assert len(expiries) >= 3 and expiries[-1] - expiries[0] >= 2 * HEARTBEAT_S - 1, expiries


# ------------------------------------------------------------------ stopping a match


@pytest.mark.slow
def test_a_match_past_its_timeout_fails_and_the_same_worker_plays_the_next(
        slow_matches, monkeypatch, tmp_path):
    monkeypatch.setenv("RL_ARENA_MATCH_DEADLINE_S", "6")  # the match job's timeout too
    monkeypatch.setenv("RL_ARENA_MATCH_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    hung = queued_match(ready_pair(SLOW, tmp_path, "slow"))
    quick = queued_match(ready_pair(FIRST_LEGAL, tmp_path, "quick"))
    with worker_process(tmp_path, "--burst") as (worker, log):
        assert worker.wait(180) == 0, log.read_text()
    output = log.read_text()
    assert "JobTimeoutException" in output, output
    assert Job.fetch(match_job_id(hung, 0), connection=connection()).get_status() == \
        JobStatus.SCHEDULED, "RQ retries the job, as it does any failed match job"
    stopped, played = match_row(hung), match_row(quick)
    assert (stopped.status, stopped.worker) == (MatchStatus.RUNNING, player_of(worker))
    assert count(Game, Game.match_id == hung) == 0
    assert (played.status, played.worker) == (MatchStatus.FINISHED, player_of(worker)), output
    # As before: the stopped match waits for its deadline, then the reaper queues it again.
    wait_for(lambda: requeue_stale() == [hung], 30, "the reaper", 0.5)
    assert match_row(hung).status == MatchStatus.QUEUED


@pytest.mark.slow
def test_rqs_stop_job_command_leaves_a_match_and_its_worker_alone(process_sandbox, tmp_path):
    match_id = queued_match(ready_pair(SLOW, tmp_path, "slow"))
    with worker_process(tmp_path) as (worker, log):
        started_match(match_id, worker)
        # RQ would SIGKILL the horse's process group: with no horse, the worker's own.
        send_stop_job_command(connection(), match_job_id(match_id, 0))
        wait_for(lambda: match_row(match_id).status != MatchStatus.RUNNING
                 or worker.poll() is not None, 120, "the match to end")
        assert worker.poll() is None, log.read_text()
        assert match_row(match_id).status == MatchStatus.FINISHED, log.read_text()
        assert "a match cannot be stopped" in log.read_text()


# ---------------------------------------------------------------------- work horses


def horse_of(worker: subprocess.Popen) -> psutil.Process | None:
    """The worker's spawned work horse, if one runs."""
    return next((child for child in psutil.Process(worker.pid).children()
                 if "main_work_horse" in " ".join(child.cmdline())), None)


def running(process: psutil.Process) -> bool:
    """Whether the process runs (a zombie waiting for init to reap it does not)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_a_work_horse_dies_with_its_sigkilled_worker(process_sandbox, tmp_path):
    job = Queue(BUILDS, connection=connection()).enqueue(time.sleep, 120, job_timeout=180)
    # SIGKILL to the worker's process group: the horse has a group of its own.
    with worker_process(tmp_path, stop_with=signal.SIGKILL) as (worker, log):
        wait_for(lambda: job.get_status() == JobStatus.STARTED or worker.poll() is not None,
                 60, "the horse to start the job")
        horse = horse_of(worker)
        assert horse is not None, log.read_text()
    wait_for(lambda: not running(horse), 10, "the horse to die with its worker")


# ------------------------------------------------------------------------- in Docker


def agent_containers(engine, worker: subprocess.Popen) -> list[str]:
    """The agent containers ``worker`` owns (running or not)."""
    return [c.name for c in engine.managed_containers(owner=player_of(worker))]


@pytest.fixture
def docker_sandbox(platform, docker_engine, monkeypatch):
    """The platform with agents in Docker, as in production."""
    monkeypatch.setenv("RL_ARENA_SANDBOX", "docker")
    get_settings.cache_clear()
    return docker_engine


@pytest.fixture
def slow_match_in_docker(docker_sandbox, tmp_path) -> Iterator[tuple[int, subprocess.Popen,
                                                                     Path]]:
    """A slow match, a worker playing it with both agents' containers up, and its log."""
    match_id = queued_match(ready_pair(SLOW, tmp_path, "slow"))
    with worker_process(tmp_path) as (worker, log):
        started_match(match_id, worker)
        wait_for(lambda: len(agent_containers(docker_sandbox, worker)) == 2, 60,
                 "both agents' containers")
        yield match_id, worker, log


@pytest.mark.slow
def test_sigterm_lets_the_match_in_progress_finish(docker_sandbox, slow_match_in_docker):
    match_id, worker, log = slow_match_in_docker
    worker.send_signal(signal.SIGTERM)  # warm shutdown: the match is finished first
    assert worker.wait(120) == 0, log.read_text()
    assert match_row(match_id).status == MatchStatus.FINISHED, log.read_text()
    assert not agent_containers(docker_sandbox, worker)


@pytest.mark.slow
def test_a_second_sigterm_stops_the_match_and_leaves_no_container(docker_sandbox,
                                                                  slow_match_in_docker):
    match_id, worker, log = slow_match_in_docker
    worker.send_signal(signal.SIGTERM)
    time.sleep(1.5)  # RQ ignores a second signal within a second of the first
    worker.send_signal(signal.SIGTERM)  # cold shutdown: the match is cut off
    assert worker.wait(60) == 0, log.read_text()
    assert match_row(match_id).status == MatchStatus.RUNNING, "left for the reaper"
    assert count(Game, Game.match_id == match_id) == 0
    assert not agent_containers(docker_sandbox, worker), log.read_text()


@pytest.mark.slow
def test_a_build_after_a_match_runs_in_a_work_horse_that_finishes(docker_sandbox, tmp_path):
    match_id = queued_match(ready_pair(FIRST_LEGAL, tmp_path, "quick"))
    with worker_process(tmp_path) as (worker, log):
        wait_for(lambda: match_row(match_id).status == MatchStatus.FINISHED
                 or worker.poll() is not None, 180, "the match to be played")
        assert match_row(match_id).worker == player_of(worker), log.read_text()
        agent = tmp_path / "later" / "agent.py"
        agent.parent.mkdir()
        agent.write_text(FIRST_LEGAL.replace("[0]", "[-1]"))
        later = intake.submit(str(agent), env_id="tictactoe", name="later",
                              owner_email="later@example.org")  # its build is queued
        build = Job.fetch(build_job_id(later.id), connection=connection())
        wait_for(lambda: build.get_status() in (JobStatus.FINISHED, JobStatus.FAILED)
                 or worker.poll() is not None, 240, "the build job to end")
        assert build.get_status() == JobStatus.FINISHED, log.read_text()
        # A horse forked after a match would hang in its end (waiting for container removals
        # by a thread pool that does not exist in a fork), and the worker with it.
        wait_for(lambda: listed_as("idle", None), 30, "the worker, free after the build")
        assert subs.describe(later.id)["status"] == SubmissionStatus.READY, log.read_text()
        # The horse (a fresh interpreter) counts and logs as the worker does.
        built = metrics.recorded()["rl_arena_builds_total"]
        assert built == {("tictactoe", SubmissionStatus.READY): {"": 1.0}}
        assert f"submission {later.id} (tictactoe v1): ready in" in log.read_text()
