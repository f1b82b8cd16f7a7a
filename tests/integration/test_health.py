"""`rl-arena health web|worker|scheduler`: exit 0 while the process of this host runs, 1 with a
one-line reason once it is stopped (real Redis, real worker, scheduler and web processes)."""

from __future__ import annotations

import os
import signal

import pytest
import redis

from rl_arena_app.broker import LOCK_KEY
from rl_arena_app.commands.health import role_of
from rl_arena_app.services.health import SCHEDULER_BEAT_KEY, ping_url, this_host
from rl_arena_app.settings import Settings
from tests.support.processes import rl_arena, spawn, stop
from tests.support.waiting import wait_for

WEB_PORT = os.environ.get("RL_ARENA_E2E_PORT", "3620")  # a port of this test's own


def healthy(role: str) -> bool:
    return rl_arena("health", role, timeout=60).returncode == 0


def unhealthy_reason(role: str) -> str:
    """The one line `rl-arena health ROLE` gives when it fails with exit 1."""
    done = rl_arena("health", role, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unhealthy: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.slow
def test_worker_is_healthy_while_it_runs_and_not_once_it_is_killed(platform, tmp_path) -> None:
    assert "no worker of" in unhealthy_reason("worker")
    worker = spawn("worker", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: healthy("worker"), 60, "the worker's heartbeat", poll_s=1)
        assert rl_arena("health", "worker").stdout.strip() == "worker: healthy"
    finally:
        stop(worker, signal.SIGKILL)  # no goodbye: its Redis entry outlives it until its TTL
    assert f"no worker of {this_host()}" in unhealthy_reason("worker")


@pytest.mark.slow
def test_a_standby_scheduler_is_healthy_until_it_stops(platform, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RL_ARENA_MATCHMAKING_INTERVAL_S", "1")  # beats live 3 s
    connection = redis.Redis.from_url(platform.redis_url)
    connection.set(LOCK_KEY, "another-host.1", ex=300)  # another host's scheduler is active
    assert "no scheduler of" in unhealthy_reason("scheduler")
    scheduler = spawn("scheduler", log=tmp_path / "scheduler.log")
    try:
        wait_for(lambda: healthy("scheduler"), 60, "the standby's beat", poll_s=1)
        beat = connection.get(SCHEDULER_BEAT_KEY.format(host=this_host()))
        assert beat is not None and b'"standby"' in beat
    finally:
        stop(scheduler)
    wait_for(lambda: not healthy("scheduler"), 30, "the beat to expire", poll_s=1)
    assert "no scheduler of" in unhealthy_reason("scheduler")


@pytest.mark.slow
def test_the_active_scheduler_beats_on_its_ticks(platform, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RL_ARENA_MATCHMAKING_INTERVAL_S", "1")
    scheduler = spawn("scheduler", log=tmp_path / "scheduler.log")
    connection = redis.Redis.from_url(platform.redis_url)
    try:
        wait_for(lambda: b'"active"' in (connection.get(SCHEDULER_BEAT_KEY.format(
            host=this_host())) or b""), 60, "the active scheduler's beat")
        assert healthy("scheduler")
    finally:
        stop(scheduler, signal.SIGKILL)
    wait_for(lambda: not healthy("scheduler"), 30, "the beat to expire", poll_s=1)


@pytest.mark.slow
def test_web_is_healthy_while_it_answers_ping(platform, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RL_ARENA_WEB_PORT", WEB_PORT)
    assert f"127.0.0.1:{WEB_PORT}/ping" in unhealthy_reason("web")
    web = spawn("web", log=tmp_path / "web.log")
    try:
        wait_for(lambda: healthy("web"), 240, "the web's /ping", poll_s=1)
    finally:
        stop(web)
    reason = unhealthy_reason("web")
    assert "does not answer" in reason and "refused" in reason.lower()


def test_redis_down_is_a_reason_not_a_traceback(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RL_ARENA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens there
    monkeypatch.setenv("RL_ARENA_REDIS_URL", "redis://127.0.0.1:9/0")
    for role in ("worker", "scheduler"):
        assert "Redis not reachable" in unhealthy_reason(role)


@pytest.mark.parametrize(("cmdline", "role"), [
    (["/opt/rl-arena/venv/bin/python", "/opt/rl-arena/venv/bin/rl-arena", "web"], "web"),
    (["python", "-m", "rl_arena_app.cli", "worker", "--name", "w1"], "worker"),
    (["rl-arena", "scheduler"], "scheduler"),
    (["rl-arena", "up"], "web"),
    (["rl-arena", "up", "--workers", "2", "--no-web"], "worker"),
    (["rl-arena", "db", "upgrade"], None),
    (["/sbin/docker-init", "--", "rl-arena", "web"], "web"),
    (["bash"], None),
])
def test_the_role_of_a_command_line(cmdline: list[str], role: str | None) -> None:
    assert role_of(cmdline) == role


@pytest.mark.parametrize(("host", "url"), [
    ("0.0.0.0", "http://127.0.0.1:3000/ping"), ("::", "http://127.0.0.1:3000/ping"),
    ("10.1.2.3", "http://10.1.2.3:3000/ping"), ("::1", "http://[::1]:3000/ping"),
])
def test_the_web_is_pinged_where_it_listens(host: str, url: str) -> None:
    settings = Settings.model_construct(web_host=host, web_port=3000)  # no production checks
    assert ping_url(settings) == url
