"""What workers count for the platform's metrics: matches, builds, sandbox starts, durations.

Workers may run on many hosts, so what they count (matches, builds, sandbox starts and their
durations) goes to one Redis hash that every scrape of `GET /metrics` reads (api/metrics.py).
Redis may lose the hash: Prometheus reads that as a counter reset. Recording never fails the
work it counts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import redis

from rl_arena_app.broker import get_redis
from rl_arena_app.errors import InfrastructureError

log = logging.getLogger(__name__)

METRICS_KEY = "rl-arena:metrics"
INF = float("inf")


@dataclass(frozen=True, slots=True)
class Counted:
    """A counter workers add to: its Prometheus name, help and label names."""

    name: str
    help: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Timed:
    """A histogram of durations workers observe, in seconds."""

    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]


COUNTERS = {c.name: c for c in (
    Counted("rl_arena_matches_played_total", "Matches played to a recorded result", ("env",)),
    Counted("rl_arena_matches_failed_total",
            "Match attempts the platform could not play (each is retried or marked failed)",
            ("env",)),
    Counted("rl_arena_builds_total", "Builds of submitted versions that ended, by outcome",
            ("env", "status")),
    Counted("rl_arena_sandbox_starts_total",
            "Agent sandboxes started (warm: a process forked in a running sandbox)",
            ("kind", "warm")),
)}
HISTOGRAMS = {h.name: h for h in (
    Timed("rl_arena_match_duration_seconds", "Time a worker spent on one match", ("env",),
          (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)),
    Timed("rl_arena_build_duration_seconds",
          "Time a worker spent building and validating one version", ("env",),
          (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800)),
)}

_recording = False


def start_recording() -> None:
    """Count in this process from now on (workers call it; `rl-arena play` does not count)."""
    global _recording
    _recording = True


def count(name: str, amount: float = 1, **labels: str) -> None:
    """Add to a counter of COUNTERS."""
    metric = COUNTERS[name]
    _write([(_field(name, metric.labels, labels), amount)])


def observe(name: str, seconds: float, **labels: str) -> None:
    """Add one duration to a histogram of HISTOGRAMS."""
    metric = HISTOGRAMS[name]
    base = _field(name, metric.labels, labels)
    updates = [(f"{base}|{bucket_key(le)}", 1) for le in (*metric.buckets, INF)
               if seconds <= le]
    _write([*updates, (f"{base}|count", 1), (f"{base}|sum", seconds)])


def _field(name: str, names: tuple[str, ...], labels: dict[str, str]) -> str:
    if set(labels) != set(names):
        raise ValueError(f"{name} takes the labels {names}, got {tuple(labels)}")
    return json.dumps([name, [str(labels[n]) for n in names]], separators=(",", ":"))


def _write(updates: list[tuple[str, float]]) -> None:
    if not _recording:
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        for field, amount in updates:
            pipe.hincrbyfloat(METRICS_KEY, field, amount)
        pipe.execute()
    except (InfrastructureError, redis.RedisError) as exc:
        # Deliberately swallowed: a match or a build must not fail because Redis lost a count.
        log.debug("a metric was not recorded: %s", exc)


Recorded = dict[str, dict[tuple[str, ...], dict[str, float]]]


def recorded() -> Recorded:
    """What workers counted: metric name → label values → part ("" for a counter's value;
    "le=X", "sum" and "count" for a histogram's); InfrastructureError when Redis is down."""
    try:
        raw = get_redis().hgetall(METRICS_KEY)
    except redis.RedisError as exc:
        raise InfrastructureError(f"Redis failed: {exc}") from exc
    values: Recorded = {}
    for key, value in raw.items():
        head, _, part = key.decode().partition("|")
        name, labels = json.loads(head)
        values.setdefault(name, {}).setdefault(tuple(labels), {})[part] = float(value)
    return values


def bucket_key(le: float) -> str:
    """The part of a histogram's bucket with upper bound ``le``."""
    return f"le={le:g}"
