"""The message broker every layer shares: the Redis connection, the RQ queues and job ids.

Services enqueue jobs by name (``jobs.tasks.*``) through this module and never import jobs/;
the workers and the scheduler in jobs/ use the same connection, names and ids.
"""

from __future__ import annotations

import hashlib
import tempfile
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from rl_arena_app.errors import InfrastructureError
from rl_arena_app.settings import Settings, get_settings

BUILDS = "builds"
MATCHES = "matches"
QUEUES = (BUILDS, MATCHES)
LOCK_KEY = "rl-arena:scheduler:lock"  # held by the active scheduler, valued with its name
BUILD_TASK = "jobs.tasks.build_submission"
MATCH_TASK = "jobs.tasks.play_match"
# A match job's meta entry listing its agents' sandbox images, for workers that keep them warm.
MATCH_SANDBOXES = "sandboxes"
ADMIN_TASK = "jobs.tasks.admin_action"


def embedded_socket(data_dir: Path) -> Path:
    """Socket path of the embedded Redis of ``data_dir`` (short: unix paths max 107 bytes)."""
    key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"rl-arena-redis-{key}.sock"


def embedded_url(data_dir: Path) -> str:
    """``unix://`` URL of the embedded Redis of ``data_dir``."""
    return f"unix://{embedded_socket(data_dir)}"


def redis_url(settings: Settings | None = None) -> str:
    """REDIS_URL when set, else the embedded Redis of the data dir."""
    settings = settings or get_settings()
    return settings.redis_url or embedded_url(settings.data_dir)


def shown_url(url: str) -> str:
    """A Redis URL as messages and status pages show it: its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}"))


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
            f"Redis not reachable at {shown_url(url)}: start the platform with `rl-arena up` "
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


def job_pending(job_id: str, connection: redis.Redis) -> bool:
    """Whether the job is waiting or running (False when it is gone, failed or finished)."""
    try:
        status = Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
                      JobStatus.DEFERRED)


def admin_job_id(entry_id: int) -> str:
    """The RQ job id of the long admin action of an audit entry."""
    return f"admin-{entry_id}"


def build_job_id(submission_id: int) -> str:
    """The RQ job id of a submission's build: one job per submission."""
    return f"build-submission-{submission_id}"


def match_job_id(match_id: int, attempts: int) -> str:
    """The RQ job id of a match enqueued after ``attempts`` attempts."""
    return f"match-{match_id}-{attempts}"
