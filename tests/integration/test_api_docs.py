"""The API's own description: Swagger UI at /api/v1/docs from our own files (it works offline),
and an OpenAPI document that describes every error as RFC 9457 problem details."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from rl_arena_app.api.app import create_api
from tests.support.api import API
from tests.support.browser import chromium

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_every_error_in_the_openapi_document_is_a_problem_and_429_is_everywhere():
    document = create_api().openapi()
    errors = {(path, method, status): response["content"]
              for path, operations in document["paths"].items()
              for method, operation in operations.items()
              for status, response in operation["responses"].items()
              if int(status) >= 400}

    assert errors and all(content == PROBLEM for content in errors.values())
    assert all("429" in operation["responses"] for operations in document["paths"].values()
               for operation in operations.values())
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"title", "status", "detail", "reason"}
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "reason"}


def test_swagger_ui_and_its_files_come_from_this_server(client):
    page = client.get(f"{API}/docs")
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    fetched = {url: client.get(url) for url in assets}

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"url: '{API}/openapi.json'" in page.text
    assert {urlsplit(url).netloc for url in assets} == {""}, assets  # nothing from a CDN
    assert {url.rsplit("/", 1)[-1] for url in assets} >= {"swagger-ui-bundle.js",
                                                          "swagger-ui.css"}
    assert {url: r.status_code for url, r in fetched.items()} == dict.fromkeys(assets, 200)
    assert "SwaggerUIBundle" in fetched[next(u for u in assets if u.endswith(".js"))].text


def test_swagger_ui_renders_in_a_browser_that_cannot_reach_the_internet(api_url):
    outside: list[str] = []

    def only_this_server(route) -> None:
        if route.request.url.startswith(api_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with chromium() as browser:
        tab = browser.new_page()
        tab.route("**/*", only_this_server)
        tab.goto(f"{api_url}{API}/docs")
        tab.locator(".opblock-summary-path", has_text=f"{API}/envs").first.wait_for(
            timeout=30_000)
        title = tab.locator(".info .title").inner_text()

    assert title.startswith("RL Arena API")
    assert outside == []
