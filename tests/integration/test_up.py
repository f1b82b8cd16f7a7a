"""`rl-arena up` end to end: the seeded arena comes alive, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.redis_server import _answers, embedded_socket, embedded_url

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
    from tests.integration.test_faults import orphans

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
        # A worker that dies is restarted under its name.
        first_pid = seen["workers"][0]["pid"]
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
