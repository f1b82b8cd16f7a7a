"""The offline stand-ins for the official Postgres and Redis images (`make stack-images`) behave
as compose.yaml uses the official ones: the same variables, data kept across restarts in the
volume, password auth, the compose command's flags."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis

pytestmark = pytest.mark.docker

POSTGRES = "rl-arena/postgres:15"
REDIS = "rl-arena/redis:7"
# compose.yaml's redis command, as the stand-in must take it.
REDIS_COMMAND = ["redis-server", "--appendonly", "yes", "--protected-mode", "no"]


@pytest.fixture
def started(docker_engine) -> Iterator[Any]:
    """Start containers on the host's loopback (random ports); remove them and their volumes."""
    containers: list[Any] = []
    volumes: set[str] = set()

    def start(image: str, volume: str, path: str, **kwargs: Any) -> tuple[Any, int]:
        labels = docker_engine.client.images.get(image).labels or {}
        assert "rl-arena.stand-in" in labels, f"{image} is not the offline stand-in"
        port = kwargs.pop("port")
        container = docker_engine.client.containers.run(
            image, detach=True, volumes={volume: {"bind": path, "mode": "rw"}},
            ports={f"{port}/tcp": ("127.0.0.1", None)}, **kwargs)
        containers.append(container)
        volumes.add(volume)
        container.reload()
        return container, int(container.ports[f"{port}/tcp"][0]["HostPort"])

    yield start
    for container in containers:
        container.remove(force=True)
    for volume in volumes:
        docker_engine.client.volumes.get(volume).remove(force=True)


def connect_when_ready(port: int, password: str, timeout_s: float = 60) -> psycopg.Connection:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return psycopg.connect(host="127.0.0.1", port=port, user="arena", password=password,
                                   dbname="arena", connect_timeout=2, autocommit=True)
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_postgres_initialises_an_empty_volume_once_and_keeps_its_data(started):
    volume = f"rl-arena-test-pg-{uuid.uuid4().hex[:8]}"
    env = {"POSTGRES_USER": "arena", "POSTGRES_PASSWORD": "first", "POSTGRES_DB": "arena"}
    container, port = started(POSTGRES, volume, "/var/lib/postgresql/data", port=5432,
                              environment=env)
    with connect_when_ready(port, "first") as conn:
        conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect_when_ready(port, "wrong")
    container.kill(signal="SIGINT")  # compose.yaml's stop_signal: a fast, clean shutdown
    assert container.wait(timeout=30)["StatusCode"] == 0
    # A second start on the same volume keeps the data and the first password.
    _, port = started(POSTGRES, volume, "/var/lib/postgresql/data", port=5432,
                      environment={**env, "POSTGRES_PASSWORD": "ignored"})
    with connect_when_ready(port, "first") as conn:
        assert conn.execute("SELECT x FROM kept").fetchall() == [(42,)]


def test_postgres_refuses_to_initialise_without_a_password(started):
    container, _ = started(POSTGRES, f"rl-arena-test-pg-{uuid.uuid4().hex[:8]}",
                           "/var/lib/postgresql/data", port=5432,
                           environment={"POSTGRES_USER": "arena"})
    assert container.wait(timeout=60)["StatusCode"] != 0
    assert b"set POSTGRES_PASSWORD" in container.logs()


def test_redis_takes_the_compose_command_and_keeps_its_append_only_file(started):
    volume = f"rl-arena-test-redis-{uuid.uuid4().hex[:8]}"
    container, port = started(REDIS, volume, "/data", port=6379, command=REDIS_COMMAND)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2)
    deadline = time.monotonic() + 30
    while True:  # from outside the container's loopback, as the compose network reaches it
        try:
            client.set("kept", "yes")
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    container.stop(timeout=10)
    _, port = started(REDIS, volume, "/data", port=6379, command=REDIS_COMMAND)
    again = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2)
    deadline = time.monotonic() + 30
    while True:
        try:
            assert again.get("kept") == b"yes"
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
