"""Helpers of the browser tests: logging in through the pages, asking the arena's services,
speaking to the dashboard's websocket as a page's script could."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

TIMEOUT_MS = 30_000
ADMIN_EMAIL = "admin@example.org"
CHROMIUM = "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright (never a downloaded browser), closed on the way out:
    Playwright's loop must not outlive the tests that use it."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make setup` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"])
        try:
            yield browser
        finally:
            browser.close()


def query(arena, expression: str):
    """Evaluate a services expression against the arena's database (in a subprocess)."""
    script = ("import dataclasses, json\n"
              "from rl_arena_app.services.accounts import sessions, tokens, users\n"
              "from rl_arena_app.services.matches import views\n"
              "from rl_arena_app.services.ratings import leaderboard\n"
              "from rl_arena_app.services.submissions import agents\n"
              f"value = {expression}\n"
              "print(json.dumps(value, default=str))")
    done = subprocess.run([sys.executable, "-c", script], env=arena.env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for_path(page, path: str) -> None:
    """Wait until the tab shows ``path`` (client-side redirects included)."""
    page.wait_for_function("p => location.pathname.replace(/\\/$/, '') === p", arg=path,
                           timeout=TIMEOUT_MS)


def sent_to_login(page) -> None:
    """The tab was sent to the login page, to come back to /me."""
    wait_for_path(page, "/login")
    assert page.evaluate("new URLSearchParams(location.search).get('next')") == "/me"


def provider_login(page, arena, issuer: str, sub: str, email: str) -> None:
    """Log in through the OpenID Connect provider, starting from a page that needs a login."""
    assert httpx.put(f"{issuer}/users/{sub}", json={
        "email": email, "email_verified": True, "name": sub.title()}).status_code == 204
    page.goto(f"{arena.url}/me")
    sent_to_login(page)
    page.locator("#login-oidc").click()
    page.wait_for_url(re.compile(r".*/oauth2/authorize\?.*"), timeout=TIMEOUT_MS)
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator("#me-email")).to_have_text(email, timeout=TIMEOUT_MS)
    if hasattr(page, "errors"):
        page.errors.clear()  # the provider's own page loads resources from the internet


def dev_login(page, arena, email: str, then: str = "/me") -> None:
    """The development login (this arena is not in production)."""
    page.goto(f"{arena.url}/login?next={then}")
    page.locator("#dev-email").fill(email)
    page.locator("#dev-login").click()
    wait_for_path(page, then)
    expect(page.locator("#account-menu")).to_be_visible(timeout=TIMEOUT_MS)


def session_cookie(context) -> dict:
    return next(c for c in context.cookies() if c["name"] == "rl_arena_session")


def choose(page, trigger: str, option: str) -> None:
    """Pick ``option`` in the Radix select opened by ``trigger``."""
    page.locator(trigger).click()
    page.get_by_role("option", name=option, exact=True).click()


def tokens_handler(name: str) -> str:
    """The websocket name of a handler of the /me page's API tokens."""
    from rl_arena_app.ui.me.tokens import TokensState

    return f"{TokensState.get_full_name()}.{name}"

# Socket.IO spoken by hand over a WebSocket, as any page can: open Reflex's /_event with a fresh
# tab token, join its namespace, send EVENTS, and collect every frame the server sends back for
# a while. The browser adds the Origin of the page and the site's cookies by itself.
SOCKET_EVENTS_JS = """async ([url, events, waitMs]) => {
  const result = {opened: false, joined: false, frames: [], closeCode: null};
  const token = crypto.randomUUID();
  const ws = new WebSocket(url.replace(/^http/, "ws") +
                           "/_event/?EIO=4&transport=websocket&token=" + token);
  await new Promise((resolve) => {
    const finish = () => { try { ws.close(); } catch (e) {} resolve(); };
    ws.onopen = () => { result.opened = true; };
    ws.onclose = (e) => { result.closeCode = e.code; resolve(); };
    ws.onmessage = (message) => {
      const frame = String(message.data);
      result.frames.push(frame);
      if (frame.startsWith("0{")) ws.send("40/_event,{}");
      else if (frame === "2") ws.send("3");
      else if (frame.startsWith("40/_event")) {
        result.joined = true;
        for (const event of events) ws.send("42/_event," + JSON.stringify(["event", event]));
        setTimeout(finish, waitMs);
      }
    };
    setTimeout(finish, waitMs + 10000);
  });
  return result;
}"""


def socket_events(page, arena_url: str, *events: tuple[str, dict], wait_ms: int = 3000) -> dict:
    """From the page's own origin, send (handler, payload) events over the dashboard's websocket
    as a script of that page could; what happened (opened, joined, frames received)."""
    routed = [{"name": name, "payload": payload,
               "router_data": {"pathname": "/me", "query": {}, "asPath": "/me"}}
              for name, payload in events]
    return page.evaluate(SOCKET_EVENTS_JS, [arena_url, routed, wait_ms])
