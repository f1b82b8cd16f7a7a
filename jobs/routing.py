"""Which queued match a worker takes next: one whose agents it already has warm, if one was
queued about when the head of the queue was; otherwise the head, as RQ would."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from rl_arena_app.broker import MATCH_SANDBOXES

# How far into the matches queue a worker looks for a match it has warm.
WINDOW = 256
# A match may go ahead of the head only if it was queued at most this long after it: two default
# matchmaking ticks, as a version warm here plays again at the next tick. So a match is overtaken
# only by the matches of about the same ticks and never starves, however long the queue.
MAX_LEAD_S = 20.0


@dataclass(frozen=True)
class Waiting:
    """A queued match as a worker sees it: its job, its agents' sandbox keys and when it was
    queued (seconds, any clock shared by the queue)."""

    job_id: str
    keys: tuple[str, ...]
    queued_at: float


def warm_sides(match: Waiting, warm: Collection[str]) -> int:
    """How many of the match's agents have a warm sandbox here."""
    return sum(key in warm for key in match.keys)


def choose(waiting: Sequence[Waiting], warm: Collection[str],
           max_lead_s: float = MAX_LEAD_S) -> str | None:
    """The job to take instead of the queue's head, or None to take the head as usual: the
    earliest of the matches with the most agents warm here, among those queued at most
    ``max_lead_s`` after the head."""
    if not waiting or not warm:
        return None
    latest = waiting[0].queued_at + max_lead_s
    near = [i for i, match in enumerate(waiting) if match.queued_at <= latest]
    best = max(near, key=lambda i: (warm_sides(waiting[i], warm), -i))
    if best == 0 or warm_sides(waiting[best], warm) == 0:
        return None
    return waiting[best].job_id


def queued_matches(queue: Queue, window: int = WINDOW) -> list[Waiting]:
    """The first ``window`` jobs of ``queue`` as matches: two fields of each job, one round trip."""
    ids = [i.decode() if isinstance(i, bytes) else i
           for i in queue.connection.lrange(queue.key, 0, window - 1)]
    with queue.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hmget(Job.key_for(job_id), "meta", "enqueued_at")
        fields = pipe.execute()
    waiting = []
    for job_id, (meta, enqueued_at) in zip(ids, fields, strict=True):
        if enqueued_at is None:  # gone meanwhile
            continue
        keys = queue.serializer.loads(meta).get(MATCH_SANDBOXES, ()) if meta else ()
        waiting.append(Waiting(job_id, tuple(keys), _timestamp(enqueued_at)))
    return waiting


def _timestamp(rq_time: bytes) -> float:
    """Seconds since the epoch of one of RQ's UTC times (``2026-12-07T13:52:01.123456Z``);
    ``fromisoformat`` parses it many times faster than RQ's ``strptime``."""
    return datetime.fromisoformat(rq_time.decode()).timestamp()


def take_warm_match(queue: Queue, warm: Collection[str]) -> Job | None:
    """Take a queued match this worker has warm off ``queue`` ahead of its head, as RQ's dequeue
    would take the head (None: nothing better than the head, or another worker was faster)."""
    if not warm:
        return None
    chosen = choose(queued_matches(queue), warm)
    if chosen is None or queue.connection.lrem(queue.key, 1, chosen) != 1:
        return None
    try:
        return Job.fetch(chosen, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:  # deleted after we looked: as RQ's dequeue, pass on it
        return None
