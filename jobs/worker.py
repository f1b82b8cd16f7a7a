"""`rl-arena worker`: an RQ worker on the builds and matches queues."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time

import docker.errors
import redis
from redis.client import Pipeline
from rq import Queue, SpawnWorker, Worker, worker_registration
from rq.executions import Execution
from rq.job import Job
from rq.worker import SHUTDOWN_SIGNAL, WorkerStatus

from jobs.lifetime import die_with_parent
from jobs.routing import take_warm_match
from jobs.sandbox.pool import close_pools, retain_warm, warm_keys
from rl_arena_app import logs
from rl_arena_app.broker import BUILDS, MATCHES, QUEUES, get_redis
from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.processes import pid_alive
from rl_arena_app.services import metrics
from rl_arena_app.services.submissions.listing import playable_images
from rl_arena_app.settings import Settings, get_settings

log = logging.getLogger("rl_arena.worker")

# The queues whose jobs a worker runs in its own process (matches: `play_match` alone is put
# there); jobs of the other queues (builds, admin actions) run in a work horse.
IN_PROCESS_QUEUES = frozenset({MATCHES})
# RQ itself logs warnings and failures only; jobs.tasks logs one line per job.
RQ_LOG_LEVEL = "WARNING"
# Imported once at start: the first match starts warm, and a missing module shows at once.
PRELOAD = ("jobs.tasks", "rl_arena_app.arena.envs", "rl_arena_app.arena.referee",
           "rl_arena_app.services.matches.play", "rl_arena_app.services.submissions.listing")


# How often a worker tells Redis it lives, idle or busy, and the longest wait between attempts
# to reach a Redis that went away. After a Redis restart a worker is listed again (with its
# state and current job) at most about twice this long after Redis is back; RQ's defaults
# would take minutes.
HEARTBEAT_S = 5
# How often a worker closes the warm sandboxes of versions that no longer play.
RETAIN_EVERY_S = 60.0
# RQ blocks on the queues for worker_ttl - 15 s between heartbeats.
WORKER_TTL_S = HEARTBEAT_S + 15


class ArenaWorker(SpawnWorker):
    """An RQ worker that plays matches in its own process, and that Redis cannot forget.

    A match (a job of the matches queue) runs in this process, not in a work horse, so what
    the process keeps warm (its imports, its sandboxes) serves match after match. RQ's
    registries, retries and death penalty hold as for any job: SIGALRM ends a match at its job
    timeout (the job fails; the match stays ``running`` until its deadline and the reaper
    re-enqueues it), and a ``JobHeartbeat`` thread sends the heartbeats RQ's horse monitor
    would. Each heartbeat registers the worker again if Redis lost it.

    Builds and admin actions (the builds queue) keep a work horse: long pip, Docker and
    rating work stays apart, and its memory is returned when it ends. The horse is spawned (a
    fresh interpreter, RQ's ``SpawnWorker``), not forked: after a match this process holds
    threads, database and Docker connections and warm sandboxes that a forked child would
    share or find broken (a thread pool's work, container removals included, never runs in a
    fork). The horse dies with the worker: a SIGKILLed worker leaves no job running, only
    matches ``running`` in the database until their deadline, for the reaper.
    """

    max_connection_wait_time = float(HEARTBEAT_S)

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("worker_ttl", WORKER_TTL_S)
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_S)
        super().__init__(*args, **kwargs)
        self._job_heartbeat: JobHeartbeat | None = None
        self._retain_at = 0.0

    def execute_job(self, job: Job, queue: Queue) -> None:
        """A match in this process; a build or an admin action in a spawned work horse."""
        if queue.name not in IN_PROCESS_QUEUES:
            super().execute_job(job, queue)
            return
        execution = self.prepare_execution(job)
        self._job_heartbeat = JobHeartbeat(self, job, execution)
        try:
            self.perform_job(job, queue, execution)
        finally:
            self._stop_job_heartbeat()
        self.set_state(WorkerStatus.IDLE)

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """No heartbeat once the job has ended: a late one would revive its deleted execution."""
        self._stop_job_heartbeat()
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def _stop_job_heartbeat(self) -> None:
        if self._job_heartbeat is not None:
            self._job_heartbeat.stop()
            self._job_heartbeat = None

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        """In the spawned horse: tie its life to the worker's, log and count as the worker
        does, run the job."""
        die_with_parent()
        if os.getppid() != self.pid:  # the worker died before the tie was made
            os._exit(1)
        log_like_a_worker(get_settings())
        metrics.start_recording()
        super().main_work_horse(job, queue)

    def kill_horse(self, sig=SHUTDOWN_SIGNAL) -> None:  # type: ignore[no-untyped-def]
        """Kill the work horse; a match in this process has none, and goes on (RQ would kill
        this process's group, the worker's, for `rq`'s stop-job or kill-horse command)."""
        if self.horse_pid:
            super().kill_horse(sig)
            return
        self._stopped_job_id = None  # not stopped: it must not be recorded so
        log.warning("worker %s: a match cannot be stopped; it ends at its timeout", self.name)

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
            for execution in list(self.executions.values()):  # the job may end meanwhile
                execution.save(ttl, pipeline)
                pipeline.sadd(self.executions_key, execution.composite_key)
            pipeline.expire(self.executions_key, ttl)
            pipeline.execute()
        log.info("worker %s registered again: Redis had lost it", self.name)

    def perform_job(self, *args, **kwargs) -> bool:  # type: ignore[no-untyped-def]
        """Run the job; a horse then closes its sandboxes and finishes their removals before
        its ``os._exit`` (which runs no exit handler)."""
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            if self.is_horse:
                close_pools()
                finish_removals()

    def teardown(self) -> None:
        """Leave Redis, then close this process's warm sandboxes, finish the removals of the
        containers its matches closed (they run in the background between matches) and remove
        what dead workers left on this engine."""
        super().teardown()
        close_pools()
        finish_removals()
        sweep_containers(get_settings())

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None
                                     ) -> tuple[Job, Queue] | None:
        """A queued match this worker has both or one of the agents warm for, if one is near
        the head of the queue (builds still first); otherwise RQ's own dequeue."""
        taken = self._take_warm_match()
        if taken is not None:
            self.heartbeat()
            return taken
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def _take_warm_match(self) -> tuple[Job, Queue] | None:
        settings = get_settings()
        if settings.sandbox != "docker":  # only containers are routed: their keys are images
            return None
        now = time.monotonic()
        if now >= self._retain_at:  # versions retired or superseded lose their containers
            self._retain_at = now + RETAIN_EVERY_S
            retain_warm("docker", playable_images())
            sweep_containers(settings)  # and so do workers killed mid-match
        warm = warm_keys("docker")
        queues = {q.name: q for q in self.queues}
        if not warm or MATCHES not in queues or (BUILDS in queues and queues[BUILDS].count):
            return None
        try:
            job = take_warm_match(queues[MATCHES], warm)
        except (redis.ConnectionError, redis.TimeoutError):
            return None  # RQ's dequeue waits Redis out
        return None if job is None else (job, queues[MATCHES])


class JobHeartbeat:
    """While a job runs in the worker's process, a daemon thread does what RQ's work horse
    monitor does every ``job_monitoring_interval``: the worker's and the execution's heartbeats
    (the started registry's score), and registering again if Redis forgot the worker.

    Each beat takes a connection of its own from the (thread-safe) pool, in a fresh pipeline.
    """

    def __init__(self, worker: ArenaWorker, job: Job, execution: Execution) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(worker, job, execution),
                                        name=f"heartbeat-{job.id}", daemon=True)
        self._thread.start()

    def _beat(self, worker: ArenaWorker, job: Job, execution: Execution) -> None:
        while not self._stopped.wait(worker.job_monitoring_interval):
            worker.maintain_heartbeats(job, execution)

    def stop(self) -> None:
        """No beat after this returns."""
        self._stopped.set()
        self._thread.join()


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


def log_like_a_worker(settings: Settings) -> None:
    """Logging as `rl-arena worker` sets it up, for a spawned work horse (a fresh interpreter)."""
    logs.configure(settings.log_format)
    for name in ("rq.worker", "rq.job"):
        logging.getLogger(name).setLevel(RQ_LOG_LEVEL)


def default_name() -> str:
    """``<host>.<pid>``: unique on a shared Redis."""
    return f"{socket.gethostname()}.{os.getpid()}"


def preload() -> list[str]:
    """Import the job modules now; returns those not available."""
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

    try:
        DockerEngine.shared(settings).sweep_orphans()
    except (InfrastructureError, docker.errors.DockerException) as exc:
        log.warning("sweeping orphaned agent containers failed (retried later): %s", exc)


def build_worker(name: str | None = None, settings: Settings | None = None) -> ArenaWorker:
    """An RQ worker on every queue (builds first), registered under ``name``."""
    connection = get_redis(settings)
    name = name or default_name()
    clear_stale_name(name, connection)
    queues = [Queue(q, connection=connection) for q in QUEUES]
    # A job that fails or raises never ends the worker: RQ records it (and retries it) either in
    # this process (matches) or from the horse's exit.
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
        return worker.work(burst=burst, with_scheduler=True, logging_level=RQ_LOG_LEVEL)
    except redis.ConnectionError as exc:
        raise InfrastructureError(f"worker {worker.name} lost Redis: {exc}") from exc
