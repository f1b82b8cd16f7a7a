"""`rl-arena up`: Redis, migrations, demo seed, workers and the scheduler, with prefixed logs.

Every line names its source, ``[worker-1] ...``; with RL_ARENA_LOG_FORMAT=json each is one JSON
object instead (``json_line``), the source in its ``process`` field.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from jobs.lifetime import become_subreaper, end_strays, reap_strays, terminate_with_parent
from jobs.redis_server import EmbeddedRedis
from rl_arena_app.settings import Settings, get_settings

_SOURCE = re.compile(r"\[(?P<source>[\w-]+)\] (?P<text>.*)", re.DOTALL)
GRACE_S = 10.0  # a worker may finish its current match before it is killed
MAX_BACKOFF_S = 30.0
STABLE_S = 60.0  # a child that ran this long restarts without backoff


def json_line(line: str) -> str:
    """A ``[source] text`` line of `up` as one JSON object: a child's own JSON record gains the
    ``process`` field; any other text becomes a record of its own."""
    found = _SOURCE.fullmatch(line)
    source, text = (found["source"], found["text"]) if found else ("up", line)
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        record = {"level": "INFO", "logger": "rl_arena.up", "message": text,
                  "time": datetime.now(UTC).isoformat()}
    return json.dumps({**record, "process": source})


@dataclass
class Child:
    """One supervised process (a worker or the scheduler), restarted when it dies."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Starts the children, restarts the ones that die, and stops everything on request."""

    def __init__(self, env: dict[str, str], echo: Callable[[str], None] = print,
                 grace_s: float = GRACE_S, stopping: threading.Event | None = None) -> None:
        self.env = env
        self.echo = echo
        self.grace_s = grace_s
        self.children: list[Child] = []
        self.stopping = stopping or threading.Event()
        self.adopting = False  # whether this process adopts the orphans of its children
        self._out_lock = threading.Lock()

    def add(self, name: str, *args: str) -> Child:
        """Register a child running ``rl-arena ARGS``."""
        child = Child(name, [sys.executable, "-m", "rl_arena_app.cli", *args])
        self.children.append(child)
        return child

    def line(self, prefix: str, text: str) -> None:
        """Print one prefixed line (whole lines only, whichever thread writes)."""
        with self._out_lock:
            self.echo(f"[{prefix}] {text}")

    def start(self, child: Child) -> None:
        """Spawn ``child`` in its own session (Ctrl-C reaches the supervisor only)."""
        child.process = subprocess.Popen(
            child.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=terminate_with_parent)
        child.started_at = time.monotonic()
        child.reader = threading.Thread(target=self._pump, args=(child.name, child.process.stdout),
                                        daemon=True)
        child.reader.start()
        self.line("up", f"started {child.name} (pid {child.process.pid})")

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.line(name, raw.decode(errors="replace").rstrip())
        stream.close()

    def check(self) -> None:
        """Restart children that died, with exponential backoff for those that die quickly."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                continue
            if child.process is not None:
                self._exited(child, now)
            if now >= child.next_start and not self.stopping.is_set():
                self.start(child)
        if self.adopting:  # e.g. the work horse of a killed worker, dead by now
            reap_strays(own={c.process.pid for c in self.children if c.process is not None})

    def _exited(self, child: Child, now: float) -> None:
        """Note a child's exit, schedule its restart and end what it left (RQ's scheduler)."""
        process = child.process
        assert process is not None
        ran = now - child.started_at
        child.restarts = 0 if ran > STABLE_S else child.restarts + 1
        delay = min(MAX_BACKOFF_S, 2.0 ** child.restarts - 1) if child.restarts else 0
        self.line("up", f"{child.name} exited with {process.returncode} after "
                        f"{ran:.0f}s; restarting in {delay:.0f}s")
        child.process = None
        child.next_start = now + delay
        if self.adopting:
            self._end_strays(session=process.pid)  # each child leads a session of its own

    def run(self, poll_s: float = 0.5, watch: Callable[[], None] | None = None) -> None:
        """Supervise until ``stopping`` is set, then stop every child; ``watch`` runs each poll.

        This process adopts what the children leave behind, so nothing outlives the stop.
        """
        become_subreaper()
        self.adopting = True
        try:
            for child in self.children:
                if not self.stopping.is_set():
                    self.start(child)
            while not self.stopping.wait(poll_s):
                if watch is not None:
                    watch()
                self.check()
        finally:
            self.stop_all()

    def stop_all(self) -> None:
        """SIGTERM every child (warm shutdown) and SIGKILL the process group of those still
        running after the grace; then end and reap what they left behind (work horses)."""
        running = [c for c in self.children if c.process and c.process.poll() is None]
        if running:
            self.line("up", "stopping")
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for child in running:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.line("up", f"{child.name} did not stop in {self.grace_s:.0f}s: killing it")
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.process.pid, signal.SIGKILL)  # not yet reaped: still its group
                child.process.wait()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(2)
        if self.adopting:
            self._end_strays()

    def _end_strays(self, session: int | None = None) -> None:
        ended, left = end_strays(session)
        if ended:
            self.line("up", f"ended {ended} process(es) left behind by a stopped child")
        if left:
            self.line("up", f"could not end process(es) {left}: their containers may stay")


# ---------------------------------------------------------------------- `rl-arena up`


def child_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The environment of every child: this one plus the resolved data dir and Redis URL."""
    env = dict(os.environ)
    env.update(RL_ARENA_DATA_DIR=str(settings.data_dir.resolve()), RL_ARENA_REDIS_URL=redis_url,
               RL_ARENA_DATABASE_URL=settings.db_url, PYTHONUNBUFFERED="1")
    return env


def prepare_database(echo: Callable[[str], None]) -> None:
    """Migrate; seed the house agents on the first start."""
    from rl_arena_app.services.bootstrap import migrate_database, seed_if_new

    migrate_database()
    echo("[up] database migrated")
    if ids := seed_if_new():
        echo(f"[up] demo seed: {len(ids)} house agent submission(s) queued for build")


def requeue_orphaned_running(echo: Callable[[str], None]) -> None:
    """With a private Redis nothing else can be playing: matches left running were cut off."""
    from rl_arena_app.services.matches.queue import requeue_stale

    ids = requeue_stale(datetime.max.replace(tzinfo=UTC))
    if ids:
        echo(f"[up] re-enqueued {len(ids)} match(es) cut off by the last shutdown")


def sweep_containers(settings: Settings, echo: Callable[[str], None]) -> None:
    """Remove the agent containers of dead processes (the children are gone by now)."""
    if settings.sandbox != "docker":
        return
    from jobs.worker import sweep_containers as sweep
    from rl_arena_app.errors import InfrastructureError

    try:
        sweep(settings)
    except InfrastructureError as exc:
        echo(f"[up] container sweep skipped: {exc}")
        return
    echo("[up] agent containers swept")


def start_redis(server: EmbeddedRedis) -> EmbeddedRedis:
    """Start the embedded Redis with SIGINT blocked (inherited over exec).

    Ctrl-C in a terminal reaches the whole foreground process group: unshielded, Redis would die
    at once while the workers still finish their jobs. It is stopped last, with SIGTERM.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return server.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def revive(server: EmbeddedRedis, echo: Callable[[str], None]) -> None:
    """Restart the embedded Redis if it died; the scheduler refills it from the database."""
    if server.process is not None and server.process.poll() is None:
        return
    echo("[up] embedded Redis died; restarting it (queues and leaderboards are rebuilt)")
    start_redis(server)


def up(workers: int, web: bool, echo: Callable[[str], None] = print,
       grace_s: float = GRACE_S) -> None:
    """Run the whole platform in the foreground until Ctrl-C or SIGTERM."""
    stopping = threading.Event()
    with stop_on_signals(stopping):
        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        server = None
        if settings.redis_url is None:
            server = start_redis(EmbeddedRedis(settings.data_dir))
            echo(f"[up] embedded Redis at {server.url}")
        try:
            run_platform(workers, web, server, echo, stopping=stopping, grace_s=grace_s)
        finally:
            sweep_containers(get_settings(), echo)
            if server is not None:
                server.stop()
                echo("[up] embedded Redis stopped")


@contextlib.contextmanager
def stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """Let Ctrl-C and SIGTERM only set ``stopping``, from start-up to the last clean-up.

    Installed explicitly, so Ctrl-C works even when SIGINT was ignored at start-up (as for
    `rl-arena up &` in a script), and a second Ctrl-C cannot cut the clean-up short.
    """
    previous = {sig: signal.signal(sig, lambda *_: stopping.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_platform(workers: int, web: bool, server: EmbeddedRedis | None,
                 echo: Callable[[str], None], *, stopping: threading.Event,
                 grace_s: float = GRACE_S) -> None:
    """Migrate, seed, and supervise the workers and the scheduler until ``stopping`` is set."""
    if server is not None:
        os.environ["RL_ARENA_REDIS_URL"] = server.url
        get_settings.cache_clear()
    settings = get_settings()
    supervisor = Supervisor(child_env(settings, settings.redis_url or ""), echo, grace_s, stopping)
    try:
        prepare_database(echo)
        if server is not None:
            requeue_orphaned_running(echo)
        for n in range(1, workers + 1):
            supervisor.add(f"worker-{n}", "worker", "--name", f"worker-{n}")
        supervisor.add("scheduler", "scheduler")
        if web:
            supervisor.add("web", "web")
            echo(f"[up] dashboard: {settings.web_url} (the first start builds it)")
        echo(f"[up] {workers} worker(s) and the scheduler starting; Ctrl-C stops everything")
        supervisor.run(watch=None if server is None else lambda: revive(server, echo))
    finally:
        supervisor.stop_all()
