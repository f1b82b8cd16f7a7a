"""A request id for every HTTP request and websocket connection: in the logs and the answer.

The ``X-Request-ID`` of one of our proxies (RL_ARENA_TRUSTED_PROXIES) is kept when it is a plain
token; otherwise a new one is made (a client cannot choose what our logs correlate). The answer
carries it back in ``X-Request-ID``, and everything logged while the request (or the
websocket's session) is handled carries it as ``request_id``.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rl_arena_app.api.client_address import from_trusted_proxy
from rl_arena_app.logs import log_context

HEADER = "x-request-id"
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id(sent: str | None) -> str:
    """The id sent by a proxy when it is a plain token of at most 64 characters, else a new one."""
    if sent is not None and _TOKEN.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


class RequestId:
    """Tags each request's logs and answer with its request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the request inside its log context."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get(HEADER) if from_trusted_proxy(scope) else None
        rid = request_id(sent)

        async def tagged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        with log_context(request_id=rid):
            await self.app(scope, receive, tagged_send)
