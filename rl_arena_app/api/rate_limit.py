"""Rate limits at the door: 429 with Retry-After before the app runs, for some paths only.

The API counts every request per client address and, when it carries a bearer token, per token
(separately: one token from many addresses, many tokens from one address); the login routes
count per address. Refused tokens are counted where tokens are checked (api/auth.py), token
creation and uploads in their services (services/rate_limits.py has the limits and the keys).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from rl_arena_app.api.client_address import client_address
from rl_arena_app.api.errors import PROBLEM_JSON, problem_body
from rl_arena_app.services import rate_limits
from rl_arena_app.services.rate_limits import Limit, RateLimited

KeyOf = Callable[[Scope, str], str | None]  # (request, client address) -> key, None: not counted
Answer = Callable[[RateLimited], tuple[bytes, bytes]]  # refusal -> (content type, body)


def by_address(scope: Scope, address: str) -> str:
    """Counted per client address."""
    return rate_limits.address_key(address)


def by_token(scope: Scope, address: str) -> str | None:
    """Counted per bearer token (requests without one are not counted)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return rate_limits.token_key(token.strip())
    return None


def problem(refused: RateLimited) -> tuple[bytes, bytes]:
    """The API's answer: problem details."""
    return PROBLEM_JSON.encode(), problem_body(429, str(refused))


def login_page(refused: RateLimited) -> tuple[bytes, bytes]:
    """The login routes' answer: a small page that says why and leads back to the login page."""
    page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>Too many logins · "
            f"RL Arena</title><body style='font-family:sans-serif;max-width:40em;margin:4em "
            f"auto'><h1>Too many login attempts</h1><p id=reason>{html.escape(str(refused))}"
            f"</p><p><a href='/login'>Back to the login page</a></p></body></html>")
    return b"text/html; charset=utf-8", page.encode()


class RateLimit:
    """Answer 429 for requests under ``path_prefixes`` once a client passes its limits."""

    def __init__(self, app: ASGIApp, path_prefixes: Sequence[str],
                 limits: Sequence[tuple[Limit, KeyOf]], answer: Answer) -> None:
        self.app = app
        self.prefixes = tuple(path_prefixes)
        self.limits = tuple(limits)
        self.answer = answer
        self.counter = rate_limits.AsyncCounter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            try:
                await self.count(scope)
            except RateLimited as refused:
                await self.refuse(refused, send)
                return
        await self.app(scope, receive, send)

    async def count(self, scope: Scope) -> None:
        """Count the request against each limit; RateLimited at the first one it passes."""
        address = client_address(scope)
        for limit, key_of in self.limits:
            key = key_of(scope, address)
            if key is not None:
                await self.counter.hit(limit, key)

    async def refuse(self, refused: RateLimited, send: Send) -> None:
        """Send the 429 with Retry-After."""
        content_type, body = self.answer(refused)
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", content_type),
                                (b"content-length", str(len(body)).encode()),
                                (b"retry-after", str(refused.retry_after_s).encode())]})
        await send({"type": "http.response.body", "body": body})
