"""An ASGI middleware that refuses request bodies over a size before they are read into memory.

Reusable in front of any ASGI app (the API, Reflex's own upload route): requests outside its
path prefixes pass through untouched. A body whose Content-Length is over the cap is answered
with 413 at once, before the app runs; a body without one (chunked) is counted as it streams and
cut with 413 as soon as it passes the cap: the app then sees the client gone, and whatever it
answers is dropped. Starlette's RequestBodyLimitMiddleware answers in plain text and for every
path; the API promises its problem details, and Reflex's pages must not be touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rl_arena_app.api.errors import PROBLEM_JSON, problem_body


def too_large(max_upload_mb: int) -> str:
    """What an upload over the limit is told (by this middleware and by the routes alike)."""
    return (f"the upload is larger than {max_upload_mb} MiB, the most this arena takes: leave "
            "out data, checkpoints and virtualenvs the agent does not need")


class BodyLimit:
    """Answer 413 (problem details) for bodies over ``max_bytes`` under ``path_prefixes``."""

    def __init__(self, app: ASGIApp, max_bytes: int, path_prefixes: Sequence[str],
                 reason: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = tuple(p.rstrip("/") for p in path_prefixes)
        self.reason = reason

    def applies(self, path: str) -> bool:
        """Whether the path is at or under one of the prefixes."""
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self.refuse(send)
            return
        guard = _Guard(self, receive, send)
        try:
            await self.app(scope, guard.receive, guard.send)
        except ClientDisconnect:
            if not guard.refused:  # a real disconnect: not ours to hide
                raise

    async def refuse(self, send: Send) -> None:
        """Send the 413 and close the connection (the rest of the body is not wanted)."""
        body = problem_body(413, self.reason)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class _Guard:
    """One request's byte count, and its response once the limit has answered for it."""

    def __init__(self, limit: BodyLimit, receive: Receive, send: Send) -> None:
        self.limit = limit
        self._receive = receive
        self._send = send
        self.received = 0
        self.started = False
        self.refused = False  # the body passed the cap: the app sees the client gone
        self.answered = False  # ...and the 413 went out instead of the app's answer

    async def receive(self) -> Message:
        """The next message; past the cap the 413 goes out and the app sees a disconnect."""
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                self.refused = True
                if not self.started:
                    self.answered = True
                    await self.limit.refuse(self._send)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        """Pass the app's response on, unless the limit has answered instead."""
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    """The declared body size, if the request has a valid one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
