"""Liveness of this host's platform processes (`rl-arena health`, the containers' healthchecks).

Each check answers None when the process is alive, else the one-line reason it is not: the web
answers its /ping, a worker of this host has an RQ heartbeat within its TTL, the scheduler of
this host (active or standby) has beaten within its own TTL (``record_scheduler_beat``).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime

import redis
from rq import Worker

from rl_arena_app.broker import get_redis
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.processes import pid_alive
from rl_arena_app.settings import Settings, get_settings

SCHEDULER_BEAT_KEY = "rl-arena:scheduler:beat:{host}"  # per host: the scheduler that beat last
WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # listening everywhere: loopback reaches it
PING_TIMEOUT_S = 3.0


def this_host() -> str:
    """This host's (container's) name, as workers and schedulers record it."""
    return socket.gethostname()


def record_scheduler_beat(connection: redis.Redis, name: str, role: str, ttl_s: float) -> None:
    """Say that scheduler ``name`` of this host lives (``role``: active or standby), for
    ``ttl_s`` seconds."""
    value = json.dumps({"name": name, "role": role})
    connection.set(SCHEDULER_BEAT_KEY.format(host=this_host()), value,
                   px=max(int(ttl_s * 1000), 1))


def ping_url(settings: Settings) -> str:
    """The web's /ping as this host reaches it."""
    host = "127.0.0.1" if settings.web_host in WILDCARD_HOSTS else settings.web_host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.web_port}/ping"


def web_problem(settings: Settings | None = None,
                timeout_s: float = PING_TIMEOUT_S) -> str | None:
    """Why the web of this host is not healthy (None: its /ping answers 200 in time)."""
    url = ping_url(settings or get_settings())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:  # refused, timed out, reset
        reason = getattr(exc, "reason", exc)
        return f"the web does not answer {url}: {reason}"
    return None if status == 200 else f"the web answers {url} with HTTP {status}"


def _redis() -> redis.Redis | str:
    """The platform's Redis, or why it cannot be reached."""
    try:
        return get_redis()
    except InfrastructureError as exc:
        return str(exc)


def worker_problem(max_age_s: float) -> str | None:
    """Why no worker of this host is healthy (None: one has a heartbeat within ``max_age_s``
    and its process runs)."""
    connection = _redis()
    if isinstance(connection, str):
        return connection
    host, now = this_host(), datetime.now(UTC)
    try:
        mine = [w for w in Worker.all(connection=connection) if w.hostname == host]
    except redis.RedisError as exc:
        return f"Redis failed: {exc}"
    for worker in mine:
        beat = worker.last_heartbeat  # aware, UTC
        fresh = beat is not None and (now - beat).total_seconds() <= max_age_s
        if fresh and (not worker.pid or pid_alive(worker.pid)):
            return None
    return (f"no worker of {host} has a heartbeat in Redis within {max_age_s:g} s "
            f"({len(mine)} registered, none alive)")


def scheduler_problem() -> str | None:
    """Why the scheduler of this host is not healthy (None: it beat within its TTL)."""
    connection = _redis()
    if isinstance(connection, str):
        return connection
    host = this_host()
    try:
        beat = connection.get(SCHEDULER_BEAT_KEY.format(host=host))
    except redis.RedisError as exc:
        return f"Redis failed: {exc}"
    if beat is None:
        return f"no scheduler of {host} has ticked within its TTL"
    return None
