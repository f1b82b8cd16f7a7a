"""Redis connection and the RQ queues: see rl_arena_app.broker, which every layer shares."""

from rl_arena_app.broker import (  # noqa: F401  (kept while callers move to the broker)
    BUILDS,
    LOCK_KEY,
    MATCHES,
    QUEUES,
    get_queue,
    get_redis,
    holder,
    redis_url,
)
