"""API paths with control characters (a newline, a bidi override) name no route: a 404 problem.

Without this, a path such as ``/api/v1/no%0Athing`` slips past the API's catch-all route (its
pattern stops at a newline) and reaches the dashboard behind it, which answers in plain text.
"""

from __future__ import annotations

import unicodedata

from starlette.types import ASGIApp, Receive, Scope, Send

from rl_arena_app.api.errors import error_response

CONTROL_CATEGORIES = frozenset({"Cc", "Cf"})  # controls; formats (bidi overrides, zero widths)


def shown(path: str) -> str:
    """The path with each control character written as its code (\\u000a)."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in CONTROL_CATEGORIES else c
                   for c in path)


class PrintablePaths:
    """Answer 404 (problem details) for paths under ``prefix`` with a control character."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(self.prefix) and shown(path) != path:
            response = error_response(404, f"no API route {shown(path)[:200]}: a path never "
                                           "holds control characters")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
