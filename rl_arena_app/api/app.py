"""The API's FastAPI application: thin routes over the services, problem details for errors,
rate limits, an upload cap, and Swagger UI served from our own files.

Reflex mounts its own backend inside this app (at "", after these routes), so everything here
keeps to /api/v1: the middlewares pass other paths through untouched, and an unknown /api/v1
path gets a 404 problem from a catch-all route instead of falling through to the dashboard.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp

from rl_arena_app.api import PREFIX, admin, leaderboard, reads, writes
from rl_arena_app.api.body_limit import BodyLimit, too_large
from rl_arena_app.api.errors import error_response, http_error, problem_openapi
from rl_arena_app.api.paths import PrintablePaths
from rl_arena_app.api.rate_limit import RateLimit, by_address, by_token, login_page, problem
from rl_arena_app.services.rate_limits import API_ADDRESS, API_TOKEN, LOGIN
from rl_arena_app.services.submissions.intake import upload_limits
from rl_arena_app.settings import Settings, get_settings

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the env and name fields
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
DOCS = f"{PREFIX}/docs"
LOGIN_PATHS = ("/auth/login/", "/auth/callback/")  # starts (the dev login too) and callbacks


def upload_cap(settings: Settings) -> int:
    """The largest request body the API reads: the upload limit plus multipart framing."""
    return upload_limits(settings).max_upload_bytes + MULTIPART_OVERHEAD


def limit_dashboard_uploads(backend: ASGIApp) -> ASGIApp:
    """Reflex's `/_upload` behind a 413 for bodies over the upload limit, before they are read."""
    settings = get_settings()
    return BodyLimit(backend, max_bytes=upload_cap(settings), path_prefixes=("/_upload",),
                     reason=too_large(settings.max_upload_mb))


def limit_logins(backend: ASGIApp) -> ASGIApp:
    """The /auth login routes behind their per-address rate limit (a 429 page past it)."""
    return RateLimit(backend, LOGIN_PATHS, [(LOGIN, by_address)], login_page)


def create_api() -> FastAPI:
    """A new API application (a factory: Reflex's test harness builds the app twice)."""
    routes = [route for module in (reads, leaderboard, writes, admin)
              for route in module.router.routes]  # flat: one APIRoute per path and method
    # Swagger UI at /api/v1/docs with its files from the fastapi-offline package: no CDN.
    api = FastAPIOffline(
        title="RL Arena API", version="1", openapi_url=f"{PREFIX}/openapi.json",
        docs_url=DOCS, redoc_url=None, static_url=f"{DOCS}/assets",
        swagger_ui_oauth2_redirect_url=f"{DOCS}/oauth2-redirect", routes=routes,
        description="Leaderboards, agents, matches and replays for anyone; submissions with a "
                    "personal token; repairs with an admin token. Errors are RFC 9457 problem "
                    "details; every route is rate limited (429 with Retry-After).")
    api.openapi = problem_openapi(api.openapi)  # type: ignore[method-assign]
    api.state.leaderboard_pages = leaderboard.PageCache()
    api.add_api_route(f"{PREFIX}/{{path:path}}", no_such_route, methods=ANY_METHOD,
                      include_in_schema=False)
    api.add_exception_handler(Exception, server_error)
    api.add_exception_handler(StarletteHTTPException, http_problem)
    settings = get_settings()
    api.add_middleware(BodyLimit, max_bytes=upload_cap(settings), path_prefixes=[PREFIX],
                       reason=too_large(settings.max_upload_mb))
    api.add_middleware(PrintablePaths, prefix=f"{PREFIX}/")
    api.add_middleware(RateLimit, path_prefixes=[f"{PREFIX}/"],
                       limits=[(API_ADDRESS, by_address), (API_TOKEN, by_token)],
                       answer=problem)  # outermost: a client over its limit costs nothing more
    return api


async def no_such_route(request: Request) -> Response:
    """404 for a path the API does not have; 405 (with Allow) for a method a path does not."""
    allowed = sorted({method for route in request.app.routes if isinstance(route, APIRoute)
                      and route.endpoint is not no_such_route
                      and route.matches(request.scope)[0] == Match.PARTIAL
                      for method in route.methods})
    if allowed:
        return error_response(405, f"{request.method} is not allowed here: use "
                                   f"{', '.join(allowed)}", {"Allow": ", ".join(allowed)})
    return error_response(404, f"no API route {request.url.path}: see {PREFIX}/openapi.json "
                               "for the routes")


async def http_problem(request: Request, exc: StarletteHTTPException) -> Response:
    """Starlette's own refusals (a method no route takes, e.g. OPTIONS) as problems on the
    API's paths; the dashboard's paths keep FastAPI's answer."""
    if not request.url.path.startswith(f"{PREFIX}/"):
        return await http_exception_handler(request, exc)
    if exc.status_code == 405:
        return await no_such_route(request)
    return http_error(exc)


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug: a 500 problem on the API's paths (the error is logged by the server); the
    dashboard's paths keep Starlette's plain answer."""
    if not request.url.path.startswith(f"{PREFIX}/"):
        return PlainTextResponse("Internal Server Error", status_code=500)
    return error_response(500, "the arena failed on this request (the error is logged on the "
                               "server): try again later, or tell the organisers")
