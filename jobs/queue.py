"""Redis connection and the RQ queues."""

from __future__ import annotations

from functools import lru_cache

import redis
from rq import Queue

from jobs.redis_server import embedded_url
from rl_arena_app.arena.outcomes import InfrastructureError
from rl_arena_app.settings import Settings, get_settings

BUILDS = "builds"
MATCHES = "matches"
QUEUES = (BUILDS, MATCHES)
LOCK_KEY = "rl-arena:scheduler:lock"  # held by the active scheduler, valued with its name


def redis_url(settings: Settings | None = None) -> str:
    """REDIS_URL when set, else the embedded Redis of the data dir."""
    settings = settings or get_settings()
    return settings.redis_url or embedded_url(settings.data_dir)


@lru_cache(maxsize=8)
def _connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30)


def get_redis(settings: Settings | None = None) -> redis.Redis:
    """The shared Redis connection (pooled); fails with advice when nothing answers."""
    url = redis_url(settings)
    connection = _connect(url)
    try:
        connection.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise InfrastructureError(
            f"Redis not reachable at {url}: start the platform with `rl-arena up` "
            "(it runs an embedded Redis) or set REDIS_URL") from exc
    return connection


def get_queue(name: str, settings: Settings | None = None) -> Queue:
    """An RQ queue by name (``builds`` or ``matches``)."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis(settings))


def holder(connection: redis.Redis) -> str | None:
    """Name of the active scheduler, if any."""
    value = connection.get(LOCK_KEY)
    return value.decode() if value else None
