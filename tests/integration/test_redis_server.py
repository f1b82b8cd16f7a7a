"""The embedded Redis: starts, refuses a second server on one data dir, dies with its parent."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import redis

from jobs.redis_server import EmbeddedRedis
from rl_arena_app.errors import InfrastructureError

PARENT = """
import sys, time
from pathlib import Path
from jobs.redis_server import EmbeddedRedis
server = EmbeddedRedis(Path(sys.argv[1])).start()
print(server.url, server.process.pid, flush=True)
time.sleep(600)
"""


def answers(url: str) -> bool:
    """Whether a Redis server answers at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, OSError):
        return False


def test_start_stop_and_a_second_server_is_refused(tmp_path):
    with EmbeddedRedis(tmp_path) as server:
        assert answers(server.url)
        with pytest.raises(InfrastructureError, match="already runs"):
            EmbeddedRedis(tmp_path).start()
    assert not answers(server.url)
    assert not server.socket.exists()


def test_redis_dies_with_a_sigkilled_parent_and_the_next_start_works(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    url, _redis_pid = parent.stdout.readline().split()
    assert answers(url)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while answers(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not answers(url), "the embedded Redis outlived its parent"
    with EmbeddedRedis(tmp_path) as again:  # the stale socket file does not block a restart
        assert answers(again.url)
