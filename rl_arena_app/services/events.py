"""Live events: published after a commit, never part of the truth.

Each event also bumps its environment's data version (``rl-arena:data-version:<env>``): readers
cache what they computed from the database under that version and recompute when it moves. The
versions carry an epoch drawn when Redis first counts, so counters that restart from zero (Redis
flushed or restarted) never meet a cache entry made under the old ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import redis
import redis.asyncio as aioredis

from rl_arena_app.broker import get_redis, redis_url
from rl_arena_app.db.models import utcnow
from rl_arena_app.errors import InfrastructureError

CHANNEL = "rl-arena:events"
STREAM = "rl-arena:events:recent"
STREAM_MAXLEN = 1000
# Events for live pages only, never the feed: an admin action's progress (or a flood of refused
# attempts) must not push results out of the recent-events stream.
LIVE_ONLY = frozenset({"audit"})
VERSION_PREFIX = "rl-arena:data-version:"
EPOCH_KEY = "rl-arena:data-version-epoch"

log = logging.getLogger(__name__)


def publish(kind: str, **payload: Any) -> None:
    """Publish ``{"kind": ..., **payload}`` on the pub/sub channel and (unless it is LIVE_ONLY)
    the recent-events stream.

    An event with an environment (``env`` or ``env_id``) moves its data version. Events are best
    effort: the database already holds the change, so a Redis outage is logged and the caller
    goes on.
    """
    message = json.dumps({"kind": kind, "at": utcnow().isoformat(), **payload}, default=str)
    try:
        connection = get_redis()
        pipe = connection.pipeline(transaction=False)
        pipe.publish(CHANNEL, message)
        if kind not in LIVE_ONLY:
            pipe.xadd(STREAM, {"event": message}, maxlen=STREAM_MAXLEN, approximate=True)
        env_id = payload.get("env") or payload.get("env_id")
        if env_id:
            pipe.incr(VERSION_PREFIX + str(env_id))
        pipe.execute()
    except (InfrastructureError, redis.RedisError) as exc:
        log.warning("live event %s not published: %s", kind, exc)


def recent(count: int = 50) -> list[dict[str, Any]]:
    """The newest events, newest first."""
    entries = get_redis().xrevrange(STREAM, count=count)
    return [json.loads(fields[b"event"]) for _, fields in entries]


def data_version(env_id: str) -> str | None:
    """The env's data version (epoch:count), or None when Redis cannot say (do not cache)."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
        pipe.mget(EPOCH_KEY, VERSION_PREFIX + env_id)
        _, (epoch, count) = pipe.execute()
    except (InfrastructureError, redis.RedisError):
        return None
    if epoch is None:
        return None
    return f"{epoch.decode()}:{int(count or 0)}"


def is_older(version: str, than: str) -> bool:
    """Whether data ``version`` came before ``than`` (versions of different epochs are not
    ordered: neither is older)."""
    epoch, _, count = version.partition(":")
    than_epoch, _, than_count = than.partition(":")
    return epoch == than_epoch and int(count) < int(than_count)


def invalidate(env_ids: list[str]) -> None:
    """Move the data versions of ``env_ids``: every cached view of them is recomputed."""
    pipe = get_redis().pipeline(transaction=False)
    for env_id in env_ids:
        pipe.incr(VERSION_PREFIX + env_id)
    pipe.execute()


async def follow(retry_s: float = 2.0) -> AsyncIterator[dict[str, Any]]:
    """Every live event as it is published, for ever (reconnecting when Redis goes away)."""
    while True:
        try:
            connection = aioredis.from_url(redis_url())
            async with connection.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                async for message in pubsub.listen():
                    if message["type"] == "message" and (event := _decode(message["data"])):
                        yield event
        except (redis.RedisError, OSError) as exc:
            log.warning("live events unavailable (%s); retrying in %.0f s", exc, retry_s)
            await asyncio.sleep(retry_s)


def _decode(data: bytes) -> dict[str, Any] | None:
    """A published event, or None for a message that is not one."""
    try:
        event = json.loads(data)
    except (ValueError, TypeError):
        return None
    return event if isinstance(event, dict) else None
