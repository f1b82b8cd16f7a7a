"""Accounts in Chromium against the real platform and a real OpenID Connect provider: log in,
upload an agent and watch it get rated, tokens, logout in every tab, refused cookies, admin."""

from __future__ import annotations

import contextlib
import re
import time

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.support.browser import (
    ADMIN_EMAIL,
    TIMEOUT_MS,
    choose,
    dev_login,
    provider_login,
    query,
    sent_to_login,
    session_cookie,
    wait_for_path,
)

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

FIRST_LEGAL = b"""import numpy as np


def act(observation, info):
    return int(np.flatnonzero(info["action_mask"])[0])
"""
RATED_TIMEOUT_MS = 120_000


def test_a_submitter_logs_in_uploads_and_watches_the_agent_get_rated(arena, page, oidc_issuer):
    provider_login(page, arena, oidc_issuer, "sam", "sam@example.org")
    cookie = session_cookie(page.context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "rl_arena_session" not in page.evaluate("document.cookie")

    choose(page, "#upload-env", "tictactoe")
    page.locator("#upload-name").fill("first-legal")
    started = time.monotonic()
    page.locator("#agent-upload input[type=file]").set_input_files(files=[{
        "name": "agent.py", "mimeType": "text/x-python", "buffer": FIRST_LEGAL}])
    page.locator("#upload-button").click()
    expect(page.locator("#upload-message")).to_contain_text("first-legal v1 is queued",
                                                            timeout=TIMEOUT_MS)
    card = page.locator(".my-agent", has_text="first-legal")
    expect(card.locator(".version-card")).to_contain_text("ready", timeout=RATED_TIMEOUT_MS)
    expect(card).to_contain_text(re.compile(r"games\s*[1-9]"), timeout=RATED_TIMEOUT_MS)
    print(f"upload → first rated game on the page: {time.monotonic() - started:.1f} s")
    expect(page.locator("#quota-daily")).to_contain_text("1 of 20 submissions today")

    page.locator("#account-menu").click()
    page.locator("#logout").click()
    expect(page.locator("#login-link")).to_be_visible(timeout=TIMEOUT_MS)
    assert not [c for c in page.context.cookies() if c["name"] == "rl_arena_session"]
    page.goto(f"{arena.url}/me")
    sent_to_login(page)
    assert page.errors == []


def test_a_new_token_is_shown_once_and_works_until_revoked(arena, page):
    dev_login(page, arena, "tess@example.org")
    page.locator("#token-name").fill("laptop")
    page.locator("#create-token").click()
    token = page.locator("#new-token").inner_text(timeout=TIMEOUT_MS)
    assert re.fullmatch(r"rla_[A-Za-z0-9_-]{40,}", token)
    me = httpx.get(f"{arena.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["account"]["email"] == "tess@example.org"

    page.reload()
    expect(page.locator("#tokens")).to_contain_text("laptop", timeout=TIMEOUT_MS)
    expect(page.locator("#new-token")).to_have_count(0)  # never shown again
    assert token not in page.content()
    page.locator("#tokens").get_by_role("button", name="Revoke").click()
    expect(page.locator("#tokens")).to_contain_text("revoked", timeout=TIMEOUT_MS)
    assert httpx.get(f"{arena.url}/api/v1/me",
                     headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_logging_out_refuses_the_next_action_of_every_open_tab(arena, browser):
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    dev_login(first, arena, "two-tabs@example.org")
    second.goto(f"{arena.url}/me")
    expect(second.locator("#me-email")).to_have_text("two-tabs@example.org",
                                                      timeout=TIMEOUT_MS)

    first.locator("#account-menu").click()
    first.locator("#logout").click()
    expect(first.locator("#login-link")).to_be_visible(timeout=TIMEOUT_MS)
    # The second tab is not reloaded: its websocket still carries the cookie. Its next update
    # (a live push, or this click if it comes first) checks the session and drops the account.
    with contextlib.suppress(PlaywrightTimeout):  # the page may have dropped the button already
        second.locator("#create-token").click(timeout=2_000)
    expect(second.locator("#session-ended")).to_be_visible(timeout=TIMEOUT_MS)
    expect(second.locator("#me-email")).to_have_count(0)
    expect(second.locator("#new-token")).to_have_count(0)
    context.close()


def test_a_logout_link_only_asks_and_its_button_logs_out(arena, page):
    dev_login(page, arena, "linked@example.org")

    page.goto(f"{arena.url}/auth/logout")  # what a link or an image on any site would load
    expect(page.locator("#logout-confirm")).to_be_visible(timeout=TIMEOUT_MS)
    page.goto(f"{arena.url}/me")
    expect(page.locator("#me-email")).to_have_text("linked@example.org", timeout=TIMEOUT_MS)

    page.goto(f"{arena.url}/auth/logout")
    page.locator("#logout-confirm").click()
    expect(page.locator("#login-link")).to_be_visible(timeout=TIMEOUT_MS)
    assert not [c for c in page.context.cookies() if c["name"] == "rl_arena_session"]
    assert page.errors == []


def test_the_development_login_does_not_log_in_as_an_admin(arena, page, oidc_issuer):
    provider_login(page, arena, oidc_issuer, "boss", "boss@example.org")
    query(arena, "users.set_admin('boss@example.org', True).is_admin")
    page.context.clear_cookies()

    page.goto(f"{arena.url}/login?next=/admin")
    page.locator("#dev-email").fill("boss@example.org")
    page.locator("#dev-login").click()
    wait_for_path(page, "/login")
    expect(page.get_by_text("RL_ARENA_DEV_LOGIN_ADMIN=1")).to_be_visible(timeout=TIMEOUT_MS)
    assert not [c for c in page.context.cookies() if c["name"] == "rl_arena_session"]


def test_a_tampered_or_expired_session_cookie_is_refused(arena, page):
    dev_login(page, arena, "eve@example.org")
    genuine = session_cookie(page.context)
    for value in (genuine["value"][:-3] + "AAA", "eve@example.org", genuine["value"] + "."):
        page.context.clear_cookies()
        page.context.add_cookies([{**genuine, "value": value}])
        page.goto(f"{arena.url}/me")
        sent_to_login(page)
        expect(page.get_by_text("Your session ended")).to_be_visible(timeout=TIMEOUT_MS)

    page.context.clear_cookies()
    page.context.add_cookies([genuine])
    page.goto(f"{arena.url}/me")
    expect(page.locator("#me-email")).to_have_text("eve@example.org", timeout=TIMEOUT_MS)
    query(arena, "sessions.revoke_user_sessions("
                 "users.account_by_email('eve@example.org').user_id)")
    page.goto(f"{arena.url}/me")
    sent_to_login(page)


def test_admin_actions_are_confirmed_audited_live_and_refused_for_others(arena, browser,
                                                                        oidc_issuer):
    outsider = browser.new_context().new_page()
    dev_login(outsider, arena, "carol@example.org", then="/admin")
    expect(outsider.locator("#admin-only")).to_be_visible(timeout=TIMEOUT_MS)
    outsider.locator("#action-rebuild-leaderboard").click()
    outsider.locator("#confirm-rebuild-leaderboard").click()
    expect(outsider.locator("#admin-result")).to_contain_text("Refused: only admins",
                                                              timeout=TIMEOUT_MS)
    expect(outsider.locator("#audit-log")).to_have_count(0)

    # An admin logs in through the identity provider: the development login makes no admin.
    admin = browser.new_context().new_page()
    provider_login(admin, arena, oidc_issuer, "root", ADMIN_EMAIL)
    admin.goto(f"{arena.url}/admin")
    log = admin.locator("#audit-log")
    refusal = log.locator(".audit-row", has_text="carol@example.org").filter(
        has_text="rebuild-leaderboard")
    expect(refusal).to_contain_text("refused", timeout=TIMEOUT_MS)
    choose(admin, "#admin-env", "connect_four")
    admin.locator("#action-rebuild-ratings").click()
    admin.locator("#confirm-rebuild-ratings").click()
    expect(admin.locator("#admin-result")).to_contain_text("started", timeout=TIMEOUT_MS)
    row = log.locator(".audit-row", has_text="rebuild-ratings").first
    expect(row).to_contain_text(ADMIN_EMAIL)
    expect(row).to_contain_text(re.compile(r"rebuilt connect_four from \d+ games"),
                                timeout=RATED_TIMEOUT_MS)  # the worker's result, live
    expect(row).to_contain_text("ok")
    outsider.context.close()
    admin.context.close()


def test_the_dashboard_upload_route_refuses_an_oversize_body_before_reading_it(arena):
    """Reflex's `/_upload` has no limit of its own: the arena's cap answers 413 first, for a
    declared length and for a chunked body alike."""
    cap = 50 * 1024 * 1024  # RL_ARENA_MAX_UPLOAD_MB's default
    from rl_arena_app.ui.me.upload import UploadState

    # The real handler: Reflex answers 400 for an unknown one before it reads any body.
    headers = {"reflex-client-token": "00000000-0000-4000-8000-000000000000",
               "reflex-event-handler": f"{UploadState.get_full_name()}.upload"}
    declared = httpx.post(f"{arena.url}/_upload", headers=headers, timeout=60,
                          files={"files": ("agent.py", b"#" * (cap + 128 * 1024))})

    def chunks():  # one valid multipart part that never ends before the cap
        yield (b'--x\r\nContent-Disposition: form-data; name="files"; filename="agent.py"\r\n'
               b"Content-Type: text/x-python\r\n\r\n")
        for _ in range(52):
            yield b"#" * (1024 * 1024)

    streamed = httpx.post(f"{arena.url}/_upload", content=chunks(), timeout=60,
                          headers={**headers, "content-type": "multipart/form-data; boundary=x"})

    for response in (declared, streamed):
        assert response.status_code == 413, response.text[:200]
        assert "larger than" in response.json()["reason"]
