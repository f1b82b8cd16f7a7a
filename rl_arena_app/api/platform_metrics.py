"""The platform as a scrape of `GET /metrics` sees it: what workers counted (Redis), queues,
workers and the scheduler (Redis), and the database's counts.

A scrape reads the database and Redis; its result is kept for ``CACHE_S`` seconds, so scrapes
(or anyone who can reach an unguarded /metrics) cost at most that much.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from rl_arena_app.errors import InfrastructureError
from rl_arena_app.services import metrics, status

CACHE_S = 5.0


class ArenaCollector(Collector):
    """The platform at each scrape: workers' counts and the queues (Redis), the database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._read_at = float("-inf")

    def collect(self) -> Iterator[Metric]:
        """Every family, read at most once every ``CACHE_S`` seconds."""
        with self._lock:
            if time.monotonic() - self._read_at >= CACHE_S:
                self._families, self._read_at = list(self._read()), time.monotonic()
            return iter(self._families)

    def _read(self) -> Iterator[Metric]:
        """Every family now; a part that cannot be read shows as 0 in rl_arena_up."""
        up = GaugeMetricFamily("rl_arena_up", "Whether a part of the platform answered this "
                               "scrape", labels=["part"])
        try:
            counted, queues = metrics.recorded(), status.queue_status()
        except InfrastructureError:
            up.add_metric(["redis"], 0)
        else:
            up.add_metric(["redis"], 1)
            yield from _counted(counted)
            yield from _queues(queues)
        try:
            database = status.database_status()
        except SQLAlchemyError:
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield from _database(database)
        yield up


def _counted(counted: metrics.Recorded) -> Iterator[Metric]:
    for name, counter in metrics.COUNTERS.items():
        family = CounterMetricFamily(name.removesuffix("_total"), counter.help,
                                     labels=list(counter.labels))
        for labels, parts in sorted(counted.get(name, {}).items()):
            family.add_metric(list(labels), parts.get("", 0.0))
        yield family
    for name, timed in metrics.HISTOGRAMS.items():
        family = HistogramMetricFamily(name, timed.help, labels=list(timed.labels))
        for labels, parts in sorted(counted.get(name, {}).items()):
            buckets = [("+Inf" if le == metrics.INF else f"{le:g}",
                        parts.get(metrics.bucket_key(le), 0.0))
                       for le in (*timed.buckets, metrics.INF)]
            family.add_metric(list(labels), buckets, parts.get("sum", 0.0))
        yield family


def _queues(redis_status: dict[str, Any]) -> Iterable[Metric]:
    jobs = GaugeMetricFamily("rl_arena_queue_jobs", "RQ jobs by queue and state",
                             labels=["queue", "state"])
    for queue, counts in sorted(redis_status["queues"].items()):
        for state, number in sorted(counts.items()):
            jobs.add_metric([queue, state], number)
    workers = GaugeMetricFamily("rl_arena_workers", "Workers registered in Redis, by state",
                                labels=["state"])
    states: dict[str, int] = {}
    for worker in redis_status["workers"]:
        states[worker["state"]] = states.get(worker["state"], 0) + 1
    for state, number in sorted(states.items()):
        workers.add_metric([state], number)
    scheduler = GaugeMetricFamily("rl_arena_scheduler_active",
                                  "Whether a scheduler holds the matchmaking lock")
    scheduler.add_metric([], 1 if redis_status["scheduler"] else 0)
    return [jobs, workers, scheduler]


def _database(counts: dict[str, Any]) -> Iterable[Metric]:
    families = []
    for what in ("matches", "submissions"):
        family = GaugeMetricFamily(f"rl_arena_{what}", f"{what.title()} in the database, by "
                                   "status", labels=["status"])
        for state, number in sorted(counts[what].items()):
            family.add_metric([state], number)
        families.append(family)
    games = GaugeMetricFamily("rl_arena_games", "Games recorded in the database")
    games.add_metric([], counts["games"])
    return [*families, games]
