"""`rl-arena up` end to end: the seeded arena comes alive, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from jobs.redis_server import _answers
from rl_arena_app.broker import embedded_socket, embedded_url

BUDGET_S = 240


def arena_env(data_dir: Path) -> dict[str, str]:
    """A clean environment: private data dir, embedded Redis, SQLite, 1 s matchmaking."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "RL_ARENA_REDIS_URL", "RL_ARENA_DATABASE_URL")}
    env.update(RL_ARENA_DATA_DIR=str(data_dir), RL_ARENA_MATCHMAKING_INTERVAL_S="1",
               RL_ARENA_SANDBOX="docker", PYTHONUNBUFFERED="1")
    return env


def status(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", "status", "--json"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(BUDGET_S + 120)
def test_up_runs_the_arena_and_ctrl_c_stops_everything(docker_engine, tmp_path):
    from tests.support.containers import orphans

    data_dir = tmp_path / "arena"
    env = arena_env(data_dir)
    log = tmp_path / "up.log"
    up = subprocess.Popen([sys.executable, "-m", "rl_arena_app.cli", "up", "--no-web",
                           "--workers", "1"], env=env, stdout=log.open("wb"),
                          stderr=subprocess.STDOUT)
    seen: dict = {}
    try:
        deadline = time.monotonic() + BUDGET_S
        while True:
            assert up.poll() is None, log.read_text()
            if embedded_socket(data_dir).exists() and _answers(embedded_url(data_dir)):
                seen = status(env)
                if seen["matches"]["finished"] >= 1 and seen["submissions"]["ready"] >= 2:
                    break
            assert time.monotonic() < deadline, (seen, log.read_text()[-5000:])
            time.sleep(2)
        assert [w["name"] for w in seen["workers"]] == ["worker-1"]
        assert seen["scheduler"] is not None
        assert seen["games"] >= 1 and seen["rating_events"] >= 2
        # A worker that dies is restarted under its name; what it started goes with it.
        first_pid = seen["workers"][0]["pid"]
        left_behind = [p.pid for p in psutil.Process(first_pid).children(recursive=True)]
        assert left_behind, "the worker runs RQ's scheduler in a process of its own"
        os.kill(first_pid, signal.SIGKILL)
        while True:
            seen = status(env)
            if [(w["name"], w["pid"] != first_pid) for w in seen["workers"]] == [
                    ("worker-1", True)]:
                break
            assert up.poll() is None, log.read_text()
            assert time.monotonic() < deadline + 60, (seen, log.read_text()[-5000:])
            time.sleep(1)
        assert "worker-1 exited with -9" in log.read_text()
        gone_by = time.monotonic() + 10
        while any(psutil.pid_exists(pid) for pid in left_behind):
            assert time.monotonic() < gone_by, f"{left_behind} outlived their worker"
            time.sleep(0.5)
    finally:
        up.send_signal(signal.SIGINT)
        returncode = up.wait(120)
    output = log.read_text()
    assert returncode == 0, output[-5000:]
    for prefix in ("[up]", "[worker-1]", "[scheduler]"):
        assert prefix in output
    assert not embedded_socket(data_dir).exists()
    assert not _answers(embedded_url(data_dir))
    assert not any(alive(w["pid"]) for w in seen["workers"])
    assert not orphans(docker_engine), "no container outlives `rl-arena up`"


def test_supervisor_prefixes_output_restarts_dead_children_with_backoff_and_stops_them():
    from jobs.supervisor import Supervisor

    lines: list[str] = []
    supervisor = Supervisor(dict(os.environ), echo=lines.append, grace_s=2)
    dying = supervisor.add("dying")
    dying.argv = [sys.executable, "-c", "print('hello'); raise SystemExit(3)"]
    stubborn = supervisor.add("stubborn")  # ignores SIGTERM: killed after the grace period
    stubborn.argv = [sys.executable, "-c", "import signal, time\n"
                     "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\n"
                     "time.sleep(60)"]
    for child in supervisor.children:
        supervisor.start(child)
    deadline = time.monotonic() + 20
    while dying.restarts < 2:
        assert time.monotonic() < deadline, lines
        supervisor.check()
        time.sleep(0.05)
    assert dying.next_start > time.monotonic()  # the second restart waits (backoff)
    started = time.monotonic()
    supervisor.stop_all()
    assert time.monotonic() - started < 10
    assert stubborn.process.returncode == -signal.SIGKILL
    assert "[dying] hello" in lines and "[stubborn] up" in lines
    assert any(line.startswith("[up] dying exited with 3") for line in lines)


# A stubborn "worker" (ignores SIGTERM) whose "work horse" left its process group, as RQ's do.
STUBBORN_WITH_HORSE = """\
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
horse = os.fork()
if horse == 0:
    os.setpgrp()
    time.sleep(60)
    os._exit(0)
print(f"horse {horse}", flush=True)
time.sleep(60)
"""
# The supervisor in a process of its own (it adopts orphans); it stops once the horse runs.
SUPERVISE = """\
import os, sys
from jobs.supervisor import Supervisor

def echo(line):
    print(line, flush=True)
    if line.startswith("[worker] horse"):
        supervisor.stopping.set()

supervisor = Supervisor(dict(os.environ), echo=echo, grace_s=0.5)
supervisor.add("worker").argv = [sys.executable, "-c", sys.argv[1]]
supervisor.run(poll_s=0.1)
"""


def test_supervisor_stop_ends_and_reaps_what_a_killed_child_left_behind():
    run = subprocess.run([sys.executable, "-c", SUPERVISE, STUBBORN_WITH_HORSE],
                         capture_output=True, text=True, timeout=60)
    output = run.stdout + run.stderr
    horse = int(output.split("[worker] horse ", 1)[1].split()[0])
    try:
        assert run.returncode == 0, output
        assert "[up] worker did not stop in 0s: killing it" in output, output
        assert not psutil.pid_exists(horse), "the horse outlived the supervisor (or is a zombie)"
        assert "[up] ended 1 process(es) left behind by a stopped child" in output, output
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(horse, signal.SIGKILL)


# ----------------------------------------------------- Ctrl-C while a worker is killed mid-match

THINKER = """\
import time


def act(observation, info):
    time.sleep(3600)  # thinks until the referee's move deadline (move limit + time bank)
"""
STOP_GRACE_S = 1.0  # far shorter than the match: the worker is killed in the middle of it


@pytest.fixture
def arena_with_a_thinker(tmp_path, monkeypatch) -> Iterator[Path]:
    """A migrated arena with two ready tic-tac-toe agents, one thinking until its deadline.

    The house user exists, so `up` seeds nothing and the scheduler pairs these two at once. The
    thinker is made ready directly: its validation would forfeit it (it never answers).
    """
    from sqlmodel import select

    from rl_arena_app.db.migrate import upgrade
    from rl_arena_app.db.models import Submission, SubmissionStatus, User
    from rl_arena_app.db.session import session_scope
    from rl_arena_app.services.submissions import intake
    from rl_arena_app.settings import get_settings

    data_dir = tmp_path / "arena"
    for name, value in arena_env(data_dir).items():
        monkeypatch.setenv(name, value)
    for name in ("REDIS_URL", "RL_ARENA_REDIS_URL", "RL_ARENA_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings.db_url)
    with session_scope() as session:
        session.add(User(email=settings.house_owner, name="House", is_house=True))
    thinker = tmp_path / "agent.py"
    thinker.write_text(THINKER)
    intake.submit(str(thinker), env_id="tictactoe", name="thinker",
                       owner_email="alice@example.org", enqueue=False)
    intake.submit("builtin:random", env_id="tictactoe", name="random",
                       owner_email="bob@example.org", enqueue=False)
    with session_scope() as session:
        for submission in session.exec(select(Submission)).all():
            submission.status = SubmissionStatus.READY
            session.add(submission)
    yield data_dir
    get_settings.cache_clear()


def agent_containers_of(pids: set[int], engine) -> dict[str, int]:
    """Managed containers owned by one of ``pids`` (this host): container id -> owner pid."""
    import socket

    from jobs.sandbox.docker import OWNER_LABEL

    host = socket.gethostname()
    owned = {}
    for container in engine.managed_containers():
        owner_host, _, pid = container.labels.get(OWNER_LABEL, ":").partition(":")
        if owner_host == host and pid.isdigit() and int(pid) in pids:
            owned[container.id] = int(pid)
    return owned


def ignore_sigint() -> None:
    """Start like `rl-arena up &` in a script: SIGINT ignored from the start."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(BUDGET_S)
def test_ctrl_c_while_a_worker_is_killed_mid_match_leaves_nothing(docker_engine,
                                                                  arena_with_a_thinker, tmp_path):
    data_dir = arena_with_a_thinker
    log = tmp_path / "up.log"
    # `up` itself (the CLI's body), with a short stop grace; SIGINT ignored at start-up as well.
    up = subprocess.Popen(
        [sys.executable, "-c", "from jobs.supervisor import up\n"
         f"up(1, web=False, grace_s={STOP_GRACE_S})"],
        env=dict(os.environ), stdout=log.open("wb"), stderr=subprocess.STDOUT,
        preexec_fn=ignore_sigint)
    try:
        deadline = time.monotonic() + BUDGET_S / 2
        while True:  # until both agents of the match run: the thinker is on its first move
            assert up.poll() is None, log.read_text()
            tree = {p.pid for p in psutil.Process(up.pid).children(recursive=True)}
            playing = agent_containers_of(tree, docker_engine)
            if len(playing) == 2:
                break
            assert time.monotonic() < deadline, log.read_text()[-5000:]
            time.sleep(0.2)
        tree = {p.pid for p in psutil.Process(up.pid).children(recursive=True)}
        up.send_signal(signal.SIGINT)
        returncode = up.wait(60)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    output = log.read_text()
    assert returncode == 0, output[-5000:]
    assert f"worker-1 did not stop in {STOP_GRACE_S:.0f}s: killing it" in output, output[-5000:]
    # Only this arena's processes count: other runs on the host may have orphans of their own.
    assert not agent_containers_of(tree, docker_engine), "the match's containers outlived `up`"
    sandbox_dir = docker_engine.socket_root
    assert not [f for pid in tree for f in sandbox_dir.glob(f"{pid}-*")], "socket folders left"
    assert not [pid for pid in tree if psutil.pid_exists(pid)], "a process of `up` outlived it"
    assert not embedded_socket(data_dir).exists()


@pytest.mark.slow
@pytest.mark.timeout(BUDGET_S + 120)
def test_json_logs_are_one_object_per_line_naming_process_and_work(tmp_path):
    data_dir = tmp_path / "arena"
    env = {**arena_env(data_dir), "RL_ARENA_SANDBOX": "process", "RL_ARENA_LOG_FORMAT": "json"}
    log = tmp_path / "up.log"
    up = subprocess.Popen([sys.executable, "-m", "rl_arena_app.cli", "up", "--no-web",
                           "--workers", "1"], env=env, stdout=log.open("wb"),
                          stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + BUDGET_S
        while '"match_id"' not in log.read_text():
            assert up.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()[-5000:]
            time.sleep(1)
    finally:
        up.send_signal(signal.SIGINT)
        returncode = up.wait(120)
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    assert returncode == 0
    assert {"up", "worker-1", "scheduler"} <= {line["process"] for line in lines}
    assert all({"message", "level", "time"} <= set(line) for line in lines)
    work = [line for line in lines if line["process"] == "worker-1"]
    assert any("submission_id" in line for line in work)
    assert any("match_id" in line and line["logger"] == "rl_arena.jobs" for line in work)
