"""`GET /metrics` in Prometheus' text format, and the web's own request counts.

Off unless RL_ARENA_METRICS is set (the path is then a plain 404); with RL_ARENA_METRICS_TOKEN
set, a scrape must send it as a bearer token. The web process counts its HTTP requests and
websocket connections itself (per replica); workers' counts and the platform's state come from
``services.metrics.ArenaCollector``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rl_arena_app.services import metrics, status
from rl_arena_app.services.errors import InfrastructureError
from rl_arena_app.settings import Settings, get_settings

PATH = "/metrics"
AREAS = (("/api/", "api"), ("/auth/", "auth"), ("/_event", "websocket"),
         ("/_upload", "upload"), (PATH, "metrics"), ("/ping", "health"))

WEB = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("rl_arena_web_requests", "HTTP requests the web process answered",
                   ["area", "method", "status"], registry=WEB)
DURATION = Histogram("rl_arena_web_request_duration_seconds",
                     "Time to answer an HTTP request (to the end of its body)", ["area"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10), registry=WEB)
WEBSOCKETS = Counter("rl_arena_web_websockets", "Websocket connections opened (live pages)",
                     registry=WEB)


class ArenaCollector(Collector):
    """The platform at each scrape: workers' counts and the queues (Redis), the database."""

    def collect(self) -> Iterator[Metric]:
        """Every family; a part that cannot be read shows as 0 in rl_arena_up."""
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


PLATFORM = CollectorRegistry(auto_describe=False)
PLATFORM.register(ArenaCollector())


def area(path: str) -> str:
    """What part of the web a path belongs to (bounded, for labels): api, auth, page..."""
    return next((name for prefix, name in AREAS if path.startswith(prefix)), "page")


class RequestMetrics:
    """Counts every HTTP request and websocket connection, then answers /metrics itself."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings or get_settings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count, and serve /metrics when it is on."""
        if scope["type"] == "websocket":
            WEBSOCKETS.inc()
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == PATH and self.settings.metrics:
            await (await self._scrape(Request(scope)))(scope, receive, send)
            return
        started, answered = time.perf_counter(), {"status": 500}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            where = area(scope["path"])
            REQUESTS.labels(where, scope["method"], str(answered["status"])).inc()
            DURATION.labels(where).observe(time.perf_counter() - started)

    async def _scrape(self, request: Request) -> Response:
        token = self.settings.metrics_token
        sent = request.headers.get("authorization", "")
        if token and not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return PlainTextResponse("send the metrics token: Authorization: Bearer <token>",
                                     status_code=401, headers={"WWW-Authenticate": "Bearer"})
        body = generate_latest(WEB) + await run_in_threadpool(generate_latest, PLATFORM)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def count_requests(backend: ASGIApp) -> ASGIApp:
    """The whole web behind the request counter and the /metrics route (api_transformer)."""
    return RequestMetrics(backend)


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
