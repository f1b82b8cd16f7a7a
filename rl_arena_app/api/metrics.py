"""`GET /metrics` in Prometheus' text format, and the web's own request counts.

Off unless RL_ARENA_METRICS is set (the path is then a plain 404); with RL_ARENA_METRICS_TOKEN
set, a scrape must send it as a bearer token. The web process counts its HTTP requests and
websocket connections itself (per replica); workers' counts and the platform's state come from
``platform_metrics.ArenaCollector``.
"""

from __future__ import annotations

import hmac
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rl_arena_app.api.platform_metrics import ArenaCollector
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


PLATFORM = CollectorRegistry(auto_describe=False)
PLATFORM.register(ArenaCollector())
# What a client may send as a method is any token: labels take these, anything else is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


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
            method = scope["method"] if scope["method"] in METHODS else "other"
            REQUESTS.labels(where, method, str(answered["status"])).inc()
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

