"""The test's Redis, reached as another process would reach it."""

from __future__ import annotations

import redis

from rl_arena_app.settings import get_settings


def connection() -> redis.Redis:
    """A private connection, as another process would have."""
    return redis.Redis.from_url(get_settings().redis_url)
