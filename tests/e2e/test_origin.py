"""Cross-site requests in Chromium against the real platform. A page of another origin (another
port of localhost: the same site, so the browser sends the session cookie along) can neither
drive the dashboard's websocket nor log anyone out or in; the dashboard's own pages still can."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import TIMEOUT_MS, dev_login, query, socket_events, tokens_handler

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

TOKEN = re.compile(r"rla_[A-Za-z0-9_-]{40,}")


def token_names(arena, email: str) -> list[str]:
    """The names of the API tokens of the account with ``email``."""
    return query(arena, f"[t.name for t in tokens.list_tokens(users.account_by_email({email!r}))]")


def make_token_over_the_socket(page, arena) -> dict:
    """What a script of ``page`` gets when it asks the dashboard for an API token."""
    return socket_events(page, arena.url, (tokens_handler("set_token_name"), {"name": "hijacked"}),
                         (tokens_handler("create_token"), {}))


def test_a_page_of_another_origin_cannot_use_the_dashboard_websocket(arena, browser,
                                                                      foreign_origin):
    context = browser.new_context()
    page = context.new_page()
    dev_login(page, arena, "victim@example.org")

    page.goto(foreign_origin)
    attack = make_token_over_the_socket(page, arena)

    assert not attack["opened"] and not attack["joined"], attack
    assert not TOKEN.search(" ".join(attack["frames"]))
    assert token_names(arena, "victim@example.org") == []

    # The same script from the dashboard's own origin works: the refusal above is the origin's.
    page.goto(f"{arena.url}/me")
    expect(page.locator("#me-email")).to_have_text("victim@example.org", timeout=TIMEOUT_MS)
    own = make_token_over_the_socket(page, arena)
    assert own["joined"] and TOKEN.search(" ".join(own["frames"])), own
    assert token_names(arena, "victim@example.org") == ["hijacked"]
    context.close()


def post_form(page, action: str, fields: dict[str, str]) -> None:
    """Submit a form from ``page`` to ``action``, as a page's script can, and wait for the
    browser to land wherever the answer sends it."""
    with page.expect_navigation(timeout=TIMEOUT_MS):
        page.evaluate("""([action, fields]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""", [action, fields])


def test_a_page_of_another_origin_cannot_log_anyone_out_or_in(arena, browser, foreign_origin):
    context = browser.new_context()
    page = context.new_page()
    dev_login(page, arena, "stays@example.org")

    page.goto(foreign_origin)
    post_form(page, f"{arena.url}/auth/logout", {})
    expect(page.locator("#logout-confirm")).to_be_visible()  # asked, not done
    page.goto(foreign_origin)
    post_form(page, f"{arena.url}/auth/login/dev", {"email": "planted@example.org"})

    page.goto(f"{arena.url}/me")
    expect(page.locator("#me-email")).to_have_text("stays@example.org", timeout=TIMEOUT_MS)
    context.close()
