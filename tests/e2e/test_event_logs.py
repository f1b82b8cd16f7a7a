"""The server's log when an event of a logged-in tab fails: the failure is there, the session
cookie is not (Reflex logs a failed event with its router data, whose headers hold the Cookie)."""

from __future__ import annotations

import time

import pytest

from tests.support.browser import dev_login, session_cookie, socket_events, tokens_handler

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

UNKNOWN_HANDLER = "No registered handler found for event"


def wait_for_log(arena, text: str, timeout_s: float = 30) -> str:
    """The platform's log once it holds ``text``."""
    deadline = time.monotonic() + timeout_s
    while text not in (log := arena.log.read_text(errors="replace")):
        assert time.monotonic() < deadline, f"{text!r} never reached the log:\n{log[-3000:]}"
        time.sleep(0.5)
    return log


def test_a_failed_event_of_a_logged_in_tab_leaves_no_cookie_in_the_log(arena, browser):
    context = browser.new_context()
    page = context.new_page()
    dev_login(page, arena, "logged@example.org")
    cookie = session_cookie(context)["value"]

    sent = socket_events(page, arena.url,
                         ("rl_arena_app.no_such_state.no_such_handler", {"x": 1}),
                         (tokens_handler("revoke_token"), {"token_id": 1, "not_an_argument": 2}))

    assert sent["joined"], sent
    log = wait_for_log(arena, UNKNOWN_HANDLER)
    wait_for_log(arena, "not_an_argument")  # the handler's own failure, with its traceback
    log = arena.log.read_text(errors="replace")
    assert cookie not in log
    assert cookie.split(".")[0] not in log  # not even the token part of the signed value
    context.close()
