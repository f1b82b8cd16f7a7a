"""Matches on the RQ queue: enqueue, detect what is missing from it, and re-enqueue.

A match's jobs are named ``match-<id>-<attempts>``, ``attempts`` being the match's attempts when
the job was enqueued: a re-enqueue after a dead worker gets a fresh id (the dead job's hash may
still say "started"), while RQ's own retry of a job keeps its id. A match is on the queue when
any of its jobs ``match-<id>-0 .. match-<id>-<attempts>`` is queued, scheduled (retry backoff),
deferred or started. Playing a match claims it with a guarded ``queued → running`` update, so a
duplicate job is harmless: it finds the match taken and returns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from rq import Retry, Worker
from rq.job import Job, JobStatus
from sqlalchemy import or_, update
from sqlmodel import select

from rl_arena_app.broker import (
    MATCH_SANDBOXES,
    MATCH_TASK,
    MATCHES,
    get_queue,
    get_redis,
    match_job_id,
)
from rl_arena_app.db.models import Match, MatchStatus, Submission, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.settings import get_settings

RETRY_BACKOFF_S = (5, 30, 120)
# A running match whose worker has left Redis comes back this long after it started (not at its
# deadline): more than a worker's heartbeat time to live, so a live one is never taken for dead.
ORPHANED_AFTER = timedelta(seconds=60)
PENDING = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED,
                     JobStatus.STARTED, JobStatus.CREATED})

log = logging.getLogger(__name__)


def enqueue_match(match_id: int, attempts: int) -> Job:
    """Put a match on the ``matches`` queue, with its agents' images (workers prefer matches
    they have warm); infrastructure errors are retried with backoff."""
    settings = get_settings()
    retries = max(settings.match_max_attempts - 1, 0)
    return get_queue(MATCHES).enqueue_call(
        MATCH_TASK, args=(match_id,), job_id=match_job_id(match_id, attempts),
        timeout=int(settings.match_deadline_s), result_ttl=3600, failure_ttl=7 * 24 * 3600,
        retry=Retry(max=retries, interval=list(RETRY_BACKOFF_S)) if retries else None,
        meta={MATCH_SANDBOXES: match_images(match_id)})


def match_images(match_id: int) -> list[str]:
    """The images of a match's two agents (those built so far)."""
    with session_scope() as session:
        match = session.get(Match, match_id)
        if match is None:
            return []
        return [image for image in session.exec(select(Submission.image).where(
            Submission.id.in_([match.player_a_id, match.player_b_id]))) if image]


def on_queue(matches: Sequence[tuple[int, int]]) -> set[int]:
    """The ids of ``(match_id, attempts)`` pairs that have a pending job."""
    ids = [(m, match_job_id(m, k)) for m, attempts in matches for k in range(attempts + 1)]
    jobs = Job.fetch_many([j for _, j in ids], connection=get_redis())
    return {m for (m, _), job in zip(ids, jobs, strict=True)
            if job is not None and job.get_status(refresh=False) in PENDING}


def live_workers() -> set[str]:
    """``host:pid`` of every worker registered in Redis now (a killed one drops out within its
    heartbeat's time to live)."""
    return {f"{w.hostname}:{w.pid}" for w in Worker.all(connection=get_redis())}


def requeue_stale(now: datetime | None = None) -> list[int]:
    """Running matches past their deadline, or whose worker is gone (killed, its host lost),
    go back to the queue; return their ids.

    A match that has used up its attempts is marked failed instead.
    """
    now = now or utcnow()
    max_attempts = get_settings().match_max_attempts
    requeued: list[tuple[int, int]] = []
    with session_scope() as session:
        running = session.exec(select(Match.id, Match.attempts, Match.deadline, Match.worker)
                               .where(Match.status == MatchStatus.RUNNING, or_(
                                   Match.deadline < now,
                                   Match.started_at < now - ORPHANED_AFTER))).all()
        live = live_workers() if running else set()
        for match_id, attempts, deadline, worker in running:
            if deadline is not None and deadline < now:
                why = "deadline passed"
            elif worker is not None and worker not in live:
                why = f"worker {worker} gone"
            else:
                continue
            give_up = attempts >= max_attempts
            values = {"status": MatchStatus.FAILED if give_up else MatchStatus.QUEUED,
                      "deadline": None, "worker": None,
                      "error": f"{why} on attempt {attempts}"
                               + (f"; gave up after {attempts} attempts" if give_up else "")}
            if give_up:
                values["finished_at"] = now
            done = session.exec(update(Match).where(
                Match.id == match_id, Match.status == MatchStatus.RUNNING,
                Match.attempts == attempts).values(**values)
                .execution_options(synchronize_session=False))
            if done.rowcount == 1 and not give_up:
                requeued.append((match_id, attempts))
    for match_id, attempts in requeued:
        enqueue_match(match_id, attempts)
    if requeued:
        log.info("re-enqueued stale matches %s", [m for m, _ in requeued])
    return [m for m, _ in requeued]


def requeue_pending(batch: int = 500) -> list[int]:
    """Queued matches with no pending job (e.g. Redis was flushed) are enqueued again."""
    with session_scope() as session:
        queued = session.exec(select(Match.id, Match.attempts).where(
            Match.status == MatchStatus.QUEUED).order_by(Match.id)).all()
    missing: list[tuple[int, int]] = []
    for start in range(0, len(queued), batch):
        chunk = [(m, a) for m, a in queued[start:start + batch]]
        present = on_queue(chunk)
        missing += [(m, a) for m, a in chunk if m not in present]
    for match_id, attempts in missing:
        enqueue_match(match_id, attempts)
    if missing:
        log.info("re-enqueued pending matches %s", [m for m, _ in missing])
    return [m for m, _ in missing]
