"""Screenshots of the dashboard's pages for the README (Debian's Chromium via Playwright).

Usage, with the platform running and an admin email configured that the development login may
log in as, e.g. `RL_ARENA_DEV_LOGIN_ADMIN=1 RL_ARENA_ADMIN_EMAILS=admin@example.org make run`:
  .venv/bin/python docs/screenshots/capture.py [http://localhost:3000] [admin@example.org]
Logs in with the development login as that admin, uploads a small tic-tac-toe agent when the
account has none, and writes docs/screenshots/<page>.png at 1280x800, with a dark-theme shot and
one at phone width of the main pages.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

HERE = Path(__file__).parent
PAGES = (  # (file name, path, element to wait for, path to click into first or None)
    ("overview", "/", ".feed-item", None),
    ("leaderboard", "/envs/connect_four", ".leaderboard-row", None),
    ("agent", "/envs/connect_four", ".version-card", ".leaderboard-row a"),
    ("matches", "/matches", ".match-row", None),
    ("match", "/matches", "#board", ".match-row a"),
    ("status", "/status", ".worker-row", None),
    ("me", "/me", ".my-agent", None),
    ("admin", "/admin", ".audit-row", None),
)
AGENT = b"""import numpy as np


def act(observation, info):
    return int(np.flatnonzero(info["action_mask"])[0])
"""


def log_in(page, base: str, email: str) -> None:
    """The development login, then an agent of the account's own on /me."""
    page.goto(f"{base}/login?next=/me")
    page.locator("#dev-email").fill(email)
    page.locator("#dev-login").click()
    expect(page.locator("#me-email")).to_have_text(email, timeout=30_000)
    time.sleep(1)
    if page.locator(".my-agent").count() == 0:
        page.locator("#upload-env").click()
        page.get_by_role("option", name="tictactoe", exact=True).click()
        page.locator("#upload-name").fill("first-legal")
        page.locator("#agent-upload input[type=file]").set_input_files(files=[{
            "name": "agent.py", "mimeType": "text/x-python", "buffer": AGENT}])
        page.locator("#upload-button").click()
        card = page.locator(".my-agent", has_text="first-legal")
        expect(card).to_contain_text(re.compile(r"games\s*[1-9]"), timeout=120_000)
    page.goto(f"{base}/admin")  # an audit entry for the admin page's log
    page.locator("#action-rebuild-leaderboard").click()
    page.locator("#confirm-rebuild-leaderboard").click()
    expect(page.locator("#admin-result")).to_be_visible(timeout=30_000)


def main() -> None:
    base = (sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3000").rstrip("/")
    admin = sys.argv[2] if len(sys.argv) > 2 else "admin@example.org"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        for scheme, size, suffix in (("light", (1280, 800), ""), ("dark", (1280, 800), "-dark"),
                                     ("light", (390, 844), "-phone")):
            context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                          color_scheme=scheme)
            page = context.new_page()
            if not suffix:
                log_in(page, base, admin)
            for name, path, ready, click in PAGES:
                if suffix and name not in ("overview", "leaderboard", "match"):
                    continue
                page.goto(base + path)
                if click:
                    page.locator(click).first.click()
                page.locator(ready).first.wait_for(timeout=30_000)
                time.sleep(1.5)  # charts draw after the data arrives
                page.screenshot(path=HERE / f"{name}{suffix}.png")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
