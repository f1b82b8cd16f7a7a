"""`rl-arena scheduler`: matchmaking ticks, the stale-match reaper and Bradley-Terry refreshes.

Only one scheduler is active at a time: it holds a Redis lock (TTL three matchmaking intervals)
renewed on every tick. Others wait and take over when the holder dies or loses the lock. Active
or waiting, each beats (services.health) on every tick or wait, for its host's healthcheck.

Besides its fixed timers, the active scheduler follows the live events: a submission that becomes
ready gets a matchmaking tick of its env at once, and an env's new games refresh its
Bradley-Terry estimates soon after them (debounced: a burst of results makes one refresh, at most
``bt_max_delay_s`` after the first of them).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
from apscheduler.schedulers.blocking import BlockingScheduler
from redis.exceptions import LockError
from redis.lock import Lock

from rl_arena_app.arena import envs
from rl_arena_app.broker import LOCK_KEY, get_redis, holder
from rl_arena_app.services.health import record_scheduler_beat
from rl_arena_app.settings import Settings, get_settings

TICKS_KEY = "rl-arena:scheduler:ticks"  # hash: scheduler name -> ticks run
READY_TICK_DELAY_S = 0.2  # a burst of ready submissions (e.g. the seed) makes one tick
WARM_KEY = "rl-arena:scheduler:warm"  # absent after a flush: the queues need refilling

log = logging.getLogger("rl_arena.scheduler")


def duel_envs() -> list[str]:
    """Ids of the environments that have matchmaking."""
    return [spec.id for spec in envs.list_envs() if spec.kind == "duel"]


def for_each_env(what: str, env_ids: list[str], job: Callable[[str], object]) -> dict:
    """Run ``job`` per env; one env's failure is logged with its traceback, the others go on."""
    results = {}
    for env_id in env_ids:
        try:
            results[env_id] = job(env_id)
        except Exception:  # a broken env must not stop the others; logged in full
            log.exception("%s failed for %s", what, env_id)
    return results


class ArenaScheduler:
    """The platform's periodic jobs behind a Redis lock."""

    def __init__(self, settings: Settings | None = None, *,
                 connection: redis.Redis | None = None, name: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.connection = connection or get_redis(self.settings)
        self.name = name or f"{socket.gethostname()}.{os.getpid()}"
        self.ttl = max(3 * self.settings.matchmaking_interval_s, 3.0)
        # Not thread-local: APScheduler renews the lock from its worker threads.
        self.lock = Lock(self.connection, LOCK_KEY, timeout=self.ttl, thread_local=False)
        self.ticks = 0
        self._scheduler: BlockingScheduler | None = None
        self._stopping = threading.Event()
        # One matchmaking tick at a time: periodic and event-driven ticks share the env's rows.
        self._matchmaking = threading.Lock()
        self._bt_pending_since: dict[str, float] = {}
        self._first_match_pending: set[str] = set()  # envs whose new submission found no one

    # ------------------------------------------------------------------ the lock

    def try_acquire(self) -> bool:
        """Take the lock if it is free; its value names this scheduler."""
        return bool(self.lock.acquire(blocking=False, token=self.name))

    def beat(self, role: str) -> None:
        """Tell Redis this scheduler lives (``active`` or ``standby``), for one lock TTL."""
        record_scheduler_beat(self.connection, self.name, role, self.ttl)

    def wait_for_lock(self) -> bool:
        """Block until this scheduler holds the lock (False if asked to stop first)."""
        announced = False
        while not self._stopping.is_set():
            try:
                self.beat("standby")
                if self.try_acquire():
                    log.info("%s: lock acquired, now the active scheduler", self.name)
                    return True
            except redis.ConnectionError as exc:
                log.warning("%s: Redis unreachable (%s); retrying", self.name, exc)
                self._stopping.wait(2.0)
                continue
            if not announced:
                log.info("%s: another scheduler (%s) is active; waiting", self.name,
                         holder(self.connection))
                announced = True
            self._stopping.wait(min(self.ttl / 3, 2.0))
        return False

    def renew(self) -> bool:
        """Extend the lock to a full TTL; False (and stop ticking) when it was lost."""
        try:
            self.lock.reacquire()
        except LockError:
            log.warning("%s: lock lost (expired or Redis flushed)", self.name)
            if self._scheduler is not None and self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            return False
        return True

    def release(self) -> None:
        """Give the lock up, so a waiting scheduler takes over at once."""
        try:
            self.lock.release()
        except LockError:
            pass  # already expired or taken: nothing to give up
        except redis.ConnectionError as exc:
            log.warning("%s: could not release the lock: %s", self.name, exc)

    # ------------------------------------------------------------------ jobs

    def warm_up(self) -> None:
        """After taking the lock or a Redis flush: re-enqueue unfinished builds, matches and long
        admin actions."""
        from rl_arena_app.services.admin.actions import requeue_running
        from rl_arena_app.services.matches.queue import requeue_pending
        from rl_arena_app.services.submissions.builds import requeue_unfinished

        builds = requeue_unfinished()
        requeued = requeue_pending()
        actions = requeue_running()
        self.connection.set(WARM_KEY, self.name)
        log.info("%s: re-enqueued %d build(s), %d pending match(es) and %d admin action(s)",
                 self.name, len(builds), len(requeued), len(actions))

    def run_tick(self) -> dict[str, list[int]] | None:
        """One matchmaking tick over every duel env; None when this scheduler is not active."""
        if not self.renew():
            return None
        from rl_arena_app.services.admin.actions import requeue_running
        from rl_arena_app.services.matches.pairing import matchmaking_tick
        from rl_arena_app.services.matches.queue import requeue_pending

        self.ticks += 1
        self.beat("active")
        self.connection.hincrby(TICKS_KEY, self.name, 1)
        if not self.connection.exists(WARM_KEY):
            self.warm_up()
        else:
            requeued, actions = requeue_pending(), requeue_running()
            if requeued or actions:
                log.info("%s: re-enqueued %d match(es) and %d admin action(s) missing from "
                         "Redis", self.name, len(requeued), len(actions))
        with self._matchmaking:
            made = for_each_env("matchmaking", duel_envs(), matchmaking_tick)
        summary = ", ".join(f"{env} +{len(ids)}" for env, ids in made.items())
        log.info("%s: tick %d: %s", self.name, self.ticks, summary or "no env")
        return made

    def run_reaper(self) -> list[int] | None:
        """Re-enqueue running matches past their deadline (their worker died)."""
        if not self.lock.owned():
            return None
        from rl_arena_app.services.matches.queue import requeue_stale

        ids = requeue_stale(datetime.now(UTC))
        if ids:
            log.info("%s: reaper re-enqueued stale match(es) %s", self.name, ids)
        return ids

    def run_bt_refresh(self, env_ids: list[str] | None = None) -> None:
        """Refit Bradley-Terry ratings of the given duel envs (default: all of them)."""
        if not self.lock.owned():
            return
        from rl_arena_app.services.ratings.refresh import refresh_bradley_terry

        env_ids = duel_envs() if env_ids is None else env_ids
        for env_id in env_ids:
            self._bt_pending_since.pop(env_id, None)
        for_each_env("Bradley-Terry refresh", env_ids, refresh_bradley_terry)
        log.info("%s: Bradley-Terry ratings refreshed (%s)", self.name, ", ".join(env_ids))

    def run_env_tick(self, env_id: str) -> list[int] | None:
        """A matchmaking tick of one env (a submission there just became ready)."""
        if not self.lock.owned():
            return None
        from rl_arena_app.services.matches.pairing import matchmaking_tick

        with self._matchmaking:
            made = for_each_env("matchmaking", [env_id], matchmaking_tick)
        ids = made.get(env_id)
        log.info("%s: tick of %s for a new submission: +%d", self.name, env_id, len(ids or []))
        if ids == []:  # e.g. every opponent busy: tick again when a match frees some (harmless
            # when the reason was another, such as a full queue or a paused env)
            self._first_match_pending.add(env_id)
        return ids

    # ------------------------------------------------------------------ live events

    def on_event(self, event: dict) -> None:
        """React to a live event: tick an env with a new ready submission (again when a match
        frees opponents it lacked), refresh BT soon."""
        scheduler = self._scheduler
        env_id = event.get("env") or event.get("env_id")
        if scheduler is None or not scheduler.running or env_id not in duel_envs():
            return
        now = time.monotonic()
        if event.get("kind") == "submission_status" and event.get("status") == "ready":
            self._schedule(scheduler, f"ready-tick:{env_id}", READY_TICK_DELAY_S,
                           self.run_env_tick, env_id)
        elif event.get("kind") == "match_finished":
            if env_id in self._first_match_pending:
                self._first_match_pending.discard(env_id)
                self._schedule(scheduler, f"ready-tick:{env_id}", READY_TICK_DELAY_S,
                               self.run_env_tick, env_id)
            first = self._bt_pending_since.setdefault(env_id, now)
            delay = min(self.settings.bt_debounce_s,
                        max(first + self.settings.bt_max_delay_s - now, 0.0))
            self._schedule(scheduler, f"bt:{env_id}", delay, self.run_bt_refresh, [env_id])

    @staticmethod
    def _schedule(scheduler: BlockingScheduler, job_id: str, delay_s: float,
                  func: Callable, *args: object) -> None:
        """Run ``func`` once after ``delay_s``; scheduling it again moves it (debounce)."""
        when = datetime.now(UTC) + timedelta(seconds=delay_s)
        scheduler.add_job(func, "date", run_date=when, args=args, id=job_id,
                          replace_existing=True)

    def listen(self) -> None:
        """Follow the live events until stopped (reconnecting when Redis goes away)."""
        from rl_arena_app.services.events import CHANNEL

        while not self._stopping.is_set():
            try:
                pubsub = self.connection.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.on_event(json.loads(message["data"]))
            except redis.ConnectionError as exc:
                log.warning("%s: event listener lost Redis (%s); retrying", self.name, exc)
                self._stopping.wait(2.0)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s: ignored a malformed live event: %s", self.name, exc)

    # ------------------------------------------------------------------ the process

    def _build(self) -> BlockingScheduler:
        s = self.settings
        scheduler = BlockingScheduler(timezone=UTC, job_defaults={
            "max_instances": 1, "coalesce": True, "misfire_grace_time": None})
        now = datetime.now(UTC)
        scheduler.add_job(self.run_tick, "interval", seconds=s.matchmaking_interval_s,
                          id="matchmaking", next_run_time=now)
        scheduler.add_job(self.run_reaper, "interval", seconds=s.reaper_interval_s,
                          id="reaper", next_run_time=now)
        # Soon after start, so intervals are on the leaderboard without waiting a whole period.
        scheduler.add_job(self.run_bt_refresh, "interval", seconds=s.bt_refresh_s,
                          id="bradley_terry", next_run_time=now + timedelta(seconds=5))
        return scheduler

    def serve(self) -> None:
        """Wait for the lock, run the jobs until it is lost, and wait again; until stopped."""
        threading.Thread(target=self.listen, name="events", daemon=True).start()
        try:
            while self.wait_for_lock():
                self.warm_up()
                self._scheduler = self._build()
                self._scheduler.start()  # returns when the lock is lost
                self._scheduler = None
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop ticking and release the lock."""
        self._stopping.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self.release()
