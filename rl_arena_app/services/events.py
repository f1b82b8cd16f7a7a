"""Live events for the UI: published after a commit, never part of the truth."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from jobs.queue import get_redis
from rl_arena_app.arena.outcomes import InfrastructureError

CHANNEL = "rl-arena:events"
STREAM = "rl-arena:events:recent"
STREAM_MAXLEN = 1000

log = logging.getLogger(__name__)


def publish(kind: str, **payload: Any) -> None:
    """Publish ``{"kind": ..., **payload}`` on the pub/sub channel and the recent-events stream.

    Events are best effort: the database already holds the change, so a Redis outage is logged
    and the caller goes on.
    """
    message = json.dumps({"kind": kind, **payload}, default=str)
    try:
        connection = get_redis()
        pipe = connection.pipeline(transaction=False)
        pipe.publish(CHANNEL, message)
        pipe.xadd(STREAM, {"event": message}, maxlen=STREAM_MAXLEN, approximate=True)
        pipe.execute()
    except (InfrastructureError, redis.RedisError) as exc:
        log.warning("live event %s not published: %s", kind, exc)


def recent(count: int = 50) -> list[dict[str, Any]]:
    """The newest events, newest first."""
    entries = get_redis().xrevrange(STREAM, count=count)
    return [json.loads(fields[b"event"]) for _, fields in entries]
