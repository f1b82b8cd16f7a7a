"""The API's errors: RFC 9457 problem details, one shape for every error the API answers.

``application/problem+json`` with ``type`` (always ``about:blank``: the status says what kind of
error it is, and ``title`` is its HTTP name), ``title``, ``status`` and ``detail`` (what was wrong
and how to fix it, on one line), plus ``reason``, the same text under the name clients read
before problem details (the CLI's `rl-arena submit` among them).

Only the API's own paths answer this way (its route class catches what the services raise, and
its middlewares answer before the routes): the dashboard mounted behind the API keeps its own
error pages.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from rl_arena_app.api import PREFIX
from rl_arena_app.errors import BadInput, InfrastructureError, LimitExceeded, http_status

log = logging.getLogger("rl_arena.api")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "about:blank"
BEARER_CHALLENGE = "Bearer"
UNAVAILABLE_RETRY_S = 30
MAX_NAMED, MAX_NAME = 5, 60  # unknown query parameters named in a 422, and their length
_LOCATIONS = {"query": "query parameter", "path": "path parameter", "header": "header",
              "cookie": "cookie", "body": "form field"}
# A URL or an absolute path in an infrastructure message names the server's insides.
_SERVER_DETAIL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+?(?=[:;,.)]?(?:\s|$))"
                            r"|(?<![\w.])/[\w.-]+(?:/[\w.-]+)+")


class Problem(BaseModel):
    """An error (RFC 9457 problem details), with ``reason`` for clients of the older shape."""

    type: str = Field(PROBLEM_TYPE, description="Always about:blank: the status is the kind")
    title: str = Field(description="The status's HTTP name, e.g. Too Many Requests")
    status: int = Field(description="The HTTP status again")
    detail: str = Field(description="What was wrong and how to fix it, on one line")
    reason: str = Field(description="The same as detail (the name older clients read)")


def problem_body(status: int, detail: str) -> bytes:
    """The problem details document of an error, as sent."""
    detail = one_line(detail)
    return json.dumps({"type": PROBLEM_TYPE, "title": title(status), "status": status,
                       "detail": detail, "reason": detail}).encode()


def title(status: int) -> str:
    """The HTTP name of a status (``Too Many Requests``)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """The problem details response (a 401 always carries its Bearer challenge)."""
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", BEARER_CHALLENGE)
    return Response(problem_body(status, detail), status_code=status, headers=headers,
                    media_type=PROBLEM_JSON)


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
    """A route whose refusals, validation errors and platform failures come back as problems,
    and which refuses query parameters it does not know (a typo must not be ignored)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, with errors turned into problem details."""
        handler = super().get_route_handler()
        known = self.query_parameters()

        async def answer(request: Request) -> Response:
            try:
                _refuse_unknown_parameters(request, known)
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

    def query_parameters(self) -> tuple[str, ...]:
        """The names of the query parameters the route takes (its dependencies' included)."""
        return tuple(sorted(_query_names(self.dependant)))


def _query_names(dependant: Dependant) -> set[str]:
    return {param.alias for param in dependant.query_params}.union(
        *(_query_names(sub) for sub in dependant.dependencies))


def _refuse_unknown_parameters(request: Request, known: tuple[str, ...]) -> None:
    """RequestValidationError naming each query parameter the route does not take."""
    unknown = sorted(set(request.query_params) - set(known))[:MAX_NAMED]
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes none"
        raise RequestValidationError([
            {"loc": ("query", name[:MAX_NAME]),
             "msg": f"is not a parameter of this route ({takes})",
             "type": "unknown_parameter"} for name in unknown])


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer (problem details)."""
    return {status: {"model": Problem, "description": _DESCRIPTIONS[status]}
            for status in statuses}


def problem_openapi(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """``build`` (FastAPI's OpenAPI document) with errors as application/problem+json, and
    the 429 of the rate limits on every operation."""

    @cache
    def openapi() -> dict[str, Any]:
        document = build()
        ref = {"$ref": "#/components/schemas/Problem"}
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("429", {"description": _DESCRIPTIONS[429]})
                for status, response in responses.items():
                    if status.isdigit() and int(status) >= 400:
                        response["content"] = {PROBLEM_JSON: {"schema": ref}}
        document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = \
            Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        return document

    return openapi


_DESCRIPTIONS = {
    400: "Bad input (the reason says what to fix)",
    401: "No API token, or not a valid one (`Authorization: Bearer rla_...`)",
    403: "The token's account may not do this",
    404: "No such thing",
    409: "Does not fit the current state",
    413: "The upload is larger than the arena takes",
    422: "A parameter is missing or malformed",
    429: "A rate limit or a submitter's limit is reached; Retry-After says when it frees up "
         "(absent when waiting does not help, e.g. too many active agents)",
    503: "The arena cannot do this right now (e.g. its queue is down); try again later",
}
