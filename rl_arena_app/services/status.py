"""The platform at a glance: workers, queues, matches, submissions, games, rating events."""

from __future__ import annotations

import socket
from typing import Any

import redis
from rq import Queue, Worker
from sqlalchemy import func
from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.broker import QUEUES, get_redis, holder, redis_url, shown_url
from rl_arena_app.db.models import (
    EnvState,
    Game,
    Match,
    MatchStatus,
    RatingEvent,
    Submission,
    SubmissionStatus,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.processes import pid_alive
from rl_arena_app.services.catalog import matchmaking_state
from rl_arena_app.services.read_models import EnvHealth, QueueView, StatusView, WorkerView


def database_status() -> dict[str, Any]:
    """Counts from the database, the source of truth."""
    with session_scope() as session:
        matches = dict(session.exec(
            select(Match.status, func.count()).group_by(Match.status)).all())
        submissions = dict(session.exec(
            select(Submission.status, func.count()).group_by(Submission.status)).all())
        games = session.exec(select(func.count()).select_from(Game)).one()
        events = session.exec(select(func.count()).select_from(RatingEvent)).one()
        paused = sorted(session.exec(
            select(EnvState.env_id).where(EnvState.matchmaking_paused)).all())
        disabled = sorted(session.exec(
            select(EnvState.env_id).where(EnvState.enabled.is_(False))).all())
    return {
        "matches": {s.value: matches.get(s.value, 0) for s in MatchStatus},
        "submissions": {s.value: submissions.get(s.value, 0) for s in SubmissionStatus},
        "games": games,
        "rating_events": events,
        "matchmaking_paused": paused,
        "envs_disabled": disabled,
    }


def _state(worker: Worker) -> str:
    """RQ's state, or ``dead`` for a worker of this host whose process is gone (not yet expired)."""
    if worker.hostname == socket.gethostname() and worker.pid and not pid_alive(worker.pid):
        return "dead"
    return str(worker.get_state())


def redis_status(connection: redis.Redis) -> dict[str, Any]:
    """Workers, queue lengths and the active scheduler, from Redis."""
    workers = [{"name": w.name, "pid": w.pid, "state": _state(w), "hostname": w.hostname,
                "queues": w.queue_names(), "current_job": w.get_current_job_id()}
               for w in Worker.all(connection=connection)]
    queues = {}
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        queues[name] = {"queued": queue.count,
                        "started": queue.started_job_registry.count,
                        "failed": queue.failed_job_registry.count,
                        "scheduled": queue.scheduled_job_registry.count}
    return {"redis": "up", "workers": sorted(workers, key=lambda w: w["name"]),
            "queues": queues, "scheduler": holder(connection)}


def queue_status() -> dict[str, Any]:
    """Workers, queue lengths and the scheduler; InfrastructureError when Redis is down."""
    try:
        return redis_status(get_redis())
    except redis.RedisError as exc:
        raise InfrastructureError(f"Redis failed: {exc}") from exc


def platform_status() -> dict[str, Any]:
    """Everything `rl-arena status` shows; Redis being down is reported, not raised."""
    status: dict[str, Any]
    try:
        status = queue_status()
    except InfrastructureError as exc:
        status = {"redis": f"down: {exc}", "workers": [], "queues": {}, "scheduler": None}
    status["redis_url"] = shown_url(redis_url())
    status.update(database_status())
    return status


def status_view() -> StatusView:
    """The platform at a glance, typed (the dashboard's status page and health strip)."""
    data = platform_status()
    with session_scope() as session:
        states = {s.env_id: s for s in session.exec(select(EnvState)).all()}
    env_rows = [EnvHealth(env_id=spec.id,
                          matchmaking=matchmaking_state(spec.kind, states.get(spec.id)),
                          tick=states[spec.id].tick if spec.id in states else 0,
                          last_tick_at=states[spec.id].last_tick_at if spec.id in states
                          else None,
                          bt_refreshed_at=states[spec.id].bt_refreshed_at if spec.id in states
                          else None)
                for spec in envs.list_envs()]
    workers = [WorkerView(name=w["name"], pid=w["pid"], hostname=w["hostname"], state=w["state"],
                          current_job=w["current_job"], queues=list(w["queues"]))
               for w in data["workers"]]
    queues = [QueueView(name=name, **counts) for name, counts in data["queues"].items()]
    return StatusView(
        redis=data["redis"], scheduler=data["scheduler"], workers=workers, queues=queues,
        matches=data["matches"], submissions=data["submissions"], games=data["games"],
        rating_events=data["rating_events"], envs=env_rows,
        workers_alive=sum(w.state != "dead" for w in workers), checked_at=utcnow())
