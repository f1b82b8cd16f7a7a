"""`rl-arena worker`: an RQ worker on the builds and matches queues."""

from __future__ import annotations

import logging
import os
import socket
import sys

import redis
from redis.client import Pipeline
from rq import Queue, Worker, worker_registration

from jobs.lifetime import die_with_parent
from rl_arena_app.broker import QUEUES, get_redis
from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.processes import pid_alive
from rl_arena_app.services import metrics
from rl_arena_app.settings import Settings, get_settings

log = logging.getLogger("rl_arena.worker")

# Imported once in the worker so every forked job (work horse) starts warm.
PRELOAD = ("jobs.tasks", "rl_arena_app.arena.envs", "rl_arena_app.arena.referee",
           "rl_arena_app.services.matches.play", "rl_arena_app.services.submissions.listing")


# How often a worker tells Redis it lives, idle or busy, and the longest wait between attempts
# to reach a Redis that went away. After a Redis restart a worker is listed again (with its
# state and current job) at most about twice this long after Redis is back; RQ's defaults
# would take minutes.
HEARTBEAT_S = 5
# RQ blocks on the queues for worker_ttl - 15 s between heartbeats.
WORKER_TTL_S = HEARTBEAT_S + 15


class ArenaWorker(Worker):
    """An RQ worker whose work horse dies with it, and that Redis cannot forget.

    A killed worker takes its match down too: otherwise the horse would outlive a SIGKILLed
    worker and play on unsupervised; this way the match stays ``running`` until its deadline
    and the reaper re-enqueues it. Each heartbeat registers the worker again if Redis lost it.
    """

    max_connection_wait_time = float(HEARTBEAT_S)

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("worker_ttl", WORKER_TTL_S)
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_S)
        super().__init__(*args, **kwargs)

    def main_work_horse(self, job, queue) -> None:  # type: ignore[no-untyped-def]
        """Run the job in the forked horse, tied to the worker's life."""
        parent = os.getppid()
        die_with_parent()
        if os.getppid() != parent:  # the worker died before the tie was made
            os._exit(1)
        super().main_work_horse(job, queue)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """Extend this worker's life in Redis; register it again if Redis forgot it."""
        super().heartbeat(timeout, pipeline)
        if pipeline is None and not self.is_horse:
            self.register_again_if_forgotten()

    def maintain_heartbeats(self, job, execution) -> None:  # type: ignore[no-untyped-def]
        """The heartbeat while a job runs; Redis being away is waited out, not fatal."""
        try:
            super().maintain_heartbeats(job, execution)
            self.register_again_if_forgotten()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("worker %s: heartbeat missed, Redis unreachable (%s)", self.name, exc)

    def register_again_if_forgotten(self) -> None:
        """After a Redis restart or flush: register again, with the state and current job."""
        if self.connection.sismember(self.redis_workers_keys, self.key):
            return
        ttl = max(self.worker_ttl, self.job_monitoring_interval) + 60
        with self.connection.pipeline() as pipeline:
            pipeline.hset(self.key, mapping={**self.serialize(), "state": self.get_state()})
            pipeline.expire(self.key, ttl)
            worker_registration.register(self, pipeline)
            for execution in self.executions.values():
                execution.save(ttl, pipeline)
                pipeline.sadd(self.executions_key, execution.composite_key)
            pipeline.expire(self.executions_key, ttl)
            pipeline.execute()
        log.info("worker %s registered again: Redis had lost it", self.name)

    def perform_job(self, *args, **kwargs) -> bool:  # type: ignore[no-untyped-def]
        """Run the job, then finish its container removals before the horse's ``os._exit``."""
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            finish_removals()


def finish_removals() -> None:
    """Wait for this process's background container removals; a failure is left to the sweep."""
    docker_sandbox = sys.modules.get("jobs.sandbox.docker")
    if docker_sandbox is None:
        return
    import docker.errors

    try:
        docker_sandbox.DockerEngine.drain()
    except docker.errors.APIError as exc:
        log.warning("container removal failed (the next orphan sweep retries it): %s", exc)


def default_name() -> str:
    """``<host>.<pid>``: unique on a shared Redis."""
    return f"{socket.gethostname()}.{os.getpid()}"


def preload() -> list[str]:
    """Import the job modules now so work horses inherit them; returns those not available."""
    import importlib

    missing = []
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            missing.append(module)
    return missing


def clear_stale_name(name: str, connection: redis.Redis) -> None:
    """Forget a dead worker of this host that used ``name`` (a restarted child reuses it)."""
    existing = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name,
                                  connection=connection)
    if existing is None or existing.death_date is not None:
        return
    if existing.hostname == socket.gethostname() and existing.pid and not pid_alive(
            existing.pid):
        log.info("forgetting dead worker %s (pid %s)", name, existing.pid)
        existing.register_death()
        return
    raise BadInput(f"a worker named {name!r} is already running (pid {existing.pid} on "
                   f"{existing.hostname}): choose another --name")


def sweep_containers(settings: Settings) -> None:
    """Remove agent containers left behind by dead processes (a worker killed mid-match)."""
    if settings.sandbox != "docker":
        return
    from jobs.sandbox.docker import DockerEngine

    engine = DockerEngine(settings)  # its construction sweeps orphans
    engine.client.close()  # no Docker connection may be shared with forked work horses


def build_worker(name: str | None = None, settings: Settings | None = None) -> ArenaWorker:
    """An RQ worker on every queue (builds first), registered under ``name``."""
    connection = get_redis(settings)
    name = name or default_name()
    clear_stale_name(name, connection)
    queues = [Queue(q, connection=connection) for q in QUEUES]
    # Each job runs in a forked work horse: a crash or failure of a job never kills the worker.
    return ArenaWorker(queues, connection=connection, name=name)


def run_worker(name: str | None = None, *, burst: bool = False) -> bool:
    """Sweep orphaned containers, then work until stopped (or, with ``burst``, until idle)."""
    settings = get_settings()
    sweep_containers(settings)
    metrics.start_recording()
    missing = preload()
    if missing:
        log.warning("job modules not importable yet: %s", ", ".join(missing))
    worker = build_worker(name, settings)
    log.info("worker %s on queues %s (pid %d)", worker.name, ", ".join(QUEUES), os.getpid())
    try:
        # with_scheduler: RQ's scheduler re-enqueues jobs whose Retry has a backoff interval.
        # RQ itself logs warnings and failures only; jobs.tasks logs one line per job.
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
    except redis.ConnectionError as exc:
        raise InfrastructureError(f"worker {worker.name} lost Redis: {exc}") from exc
