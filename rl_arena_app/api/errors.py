"""The API's errors: one JSON shape, ``{"reason": ..., "status": N}``, for every refusal.

Only the API's own routes answer this way (their route class catches what the services raise):
the dashboard mounted behind the API keeps its own error pages.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from rl_arena_app.api import PREFIX
from rl_arena_app.services.errors import (
    BadInput,
    InfrastructureError,
    LimitExceeded,
    http_status,
)

log = logging.getLogger("rl_arena.api")

BEARER_CHALLENGE = "Bearer"
UNAVAILABLE_RETRY_S = 30
_LOCATIONS = {"query": "query parameter", "path": "path parameter", "header": "header",
              "cookie": "cookie", "body": "form field"}
# A URL or an absolute path in an infrastructure message names the server's insides.
_SERVER_DETAIL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+?(?=[:;,.)]?(?:\s|$))"
                            r"|(?<![\w.])/[\w.-]+(?:/[\w.-]+)+")


class ErrorBody(BaseModel):
    """What every error response carries: why, and the HTTP status again."""

    reason: str
    status: int


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    """The JSON error response (a 401 always carries its Bearer challenge)."""
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", BEARER_CHALLENGE)
    return JSONResponse({"reason": one_line(reason), "status": status}, status_code=status,
                        headers=headers)


def one_line(text: str) -> str:
    """A message on one line."""
    return " ".join(str(text).split())


def refusal(exc: BadInput) -> Response:
    """A service's refusal: its message, with its HTTP status (429s say when to retry)."""
    headers = {}
    if isinstance(exc, LimitExceeded) and exc.resets_at is not None:
        headers["Retry-After"] = str(retry_after_s(exc.resets_at))
    return error_response(http_status(exc), str(exc), headers)


def retry_after_s(resets_at: datetime, now: datetime | None = None) -> int:
    """Whole seconds until ``resets_at`` (an aware time, as the database gives), at least 1."""
    now = now or datetime.now(UTC)
    return max(1, math.ceil((resets_at - now).total_seconds()))


def unavailable(exc: InfrastructureError) -> Response:
    """A platform failure (e.g. Redis down): 503, its message without server addresses."""
    log.warning("API request failed on the platform: %s", exc)
    return error_response(503, f"the arena cannot do this right now: {public(str(exc))}",
                          {"Retry-After": str(UNAVAILABLE_RETRY_S)})


def public(text: str) -> str:
    """A platform message without the server's addresses (URLs, absolute paths)."""
    return _SERVER_DETAIL.sub("(the server's address)", text)


def invalid_request(exc: RequestValidationError) -> Response:
    """FastAPI's validation errors as one 422 line naming each bad parameter."""
    return error_response(422, "; ".join(_problem(e) for e in exc.errors()) + "; see "
                          f"{PREFIX}/openapi.json for what this route takes")


def _problem(error: dict[str, Any]) -> str:
    """One validation error: where (``query parameter 'limit'``) and what is wrong."""
    loc: Sequence[Any] = error.get("loc", ())
    kind = _LOCATIONS.get(str(loc[0]), str(loc[0])) if loc else "request"
    name = ".".join(str(part) for part in loc[1:])
    where = f"{kind} {name!r}" if name else kind
    return f"{where}: {str(error.get('msg', 'invalid')).lower()}"


def http_error(exc: HTTPException) -> Response:
    """An HTTPException raised by FastAPI itself (e.g. an unparsable body)."""
    return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))


class ApiRoute(APIRoute):
    """A route whose refusals, validation errors and platform failures come back as ErrorBody."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, with errors turned into JSON responses."""
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except BadInput as exc:
                return refusal(exc)
            except InfrastructureError as exc:
                return unavailable(exc)
            except RequestValidationError as exc:
                return invalid_request(exc)
            except HTTPException as exc:
                return http_error(exc)

        return answer


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
            for status in statuses}


_DESCRIPTIONS = {
    400: "Bad input (the reason says what to fix)",
    401: "No API token, or not a valid one (`Authorization: Bearer rla_...`)",
    403: "The token's account may not do this",
    404: "No such thing",
    409: "Does not fit the current state",
    413: "The upload is larger than the arena takes",
    422: "A parameter is missing or malformed",
    429: "A submitter's limit is reached; Retry-After says when it frees up (absent when "
         "waiting does not help, e.g. too many active agents)",
    503: "The arena cannot do this right now (e.g. its queue is down); try again later",
}
