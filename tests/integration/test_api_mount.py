"""The API's manners inside the dashboard's server: Reflex mounts its backend behind the API
(at "", after the API's routes), so the API must leave every other path alone."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from rl_arena_app.api.app import create_api
from tests.support.api import API, serving


def dashboard_stand_in() -> Starlette:
    """What Reflex mounts behind the API: answers every path, echoing the body's size."""

    async def echo(request: Request) -> PlainTextResponse:
        body = await request.body()
        return PlainTextResponse(f"dashboard {request.url.path} {len(body)}")

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


@pytest.fixture
def mounted_url(platform) -> Iterator[str]:
    """The API with a dashboard mounted behind it, as Reflex's api_transformer does."""
    api = create_api()
    api.mount("", dashboard_stand_in())
    with serving(api) as url:
        yield url


def test_paths_outside_the_api_reach_the_dashboard_untouched(mounted_url, platform):
    big = b"x" * (platform.max_upload_mb * 1024 * 1024 + 1024 * 1024)
    with httpx.Client(base_url=mounted_url, timeout=60) as http:
        page = http.get("/envs/tictactoe")
        upload = http.post("/_upload", content=big)
        unknown_api = http.get(f"{API}/no-such-thing")

    assert (page.status_code, page.text) == (200, "dashboard /envs/tictactoe 0")
    assert (upload.status_code, upload.text) == (200, f"dashboard /_upload {len(big)}")
    assert unknown_api.status_code == 404
    assert unknown_api.headers["content-type"] == "application/problem+json"
    detail = f"no API route {API}/no-such-thing: see {API}/openapi.json for the routes"
    assert unknown_api.json() == {"type": "about:blank", "title": "Not Found", "status": 404,
                                  "detail": detail, "reason": detail}


def test_an_api_path_with_a_newline_gets_the_apis_problem_not_the_dashboard(mounted_url):
    with httpx.Client(base_url=mounted_url, timeout=30) as http:
        newline = http.get(f"{API}/no%0Athing")
        trailing = http.get(f"{API}/envs%0A")

    for response in (newline, trailing):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "control characters" in response.json()["detail"]
