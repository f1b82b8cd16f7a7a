"""Screenshots of the dashboard's pages for the README (Debian's Chromium via Playwright).

Usage, with the platform running (`make run`):
  .venv/bin/python docs/screenshots/capture.py [http://localhost:3000]
Writes docs/screenshots/<page>.png at 1280x800, one dark-theme shot and one at phone width.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
PAGES = (  # (file name, path, element to wait for, path to click into first or None)
    ("overview", "/", ".feed-item", None),
    ("leaderboard", "/envs/connect_four", ".leaderboard-row", None),
    ("agent", "/envs/connect_four", ".version-card", ".leaderboard-row a"),
    ("matches", "/matches", ".match-row", None),
    ("match", "/matches", "#board", ".match-row a"),
    ("status", "/status", ".worker-row", None),
)


def main() -> None:
    base = (sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3000").rstrip("/")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        for scheme, size, suffix in (("light", (1280, 800), ""), ("dark", (1280, 800), "-dark"),
                                     ("light", (390, 844), "-phone")):
            page = browser.new_page(viewport={"width": size[0], "height": size[1]},
                                    color_scheme=scheme)
            for name, path, ready, click in PAGES:
                if suffix and name not in ("overview", "leaderboard", "match"):
                    continue
                page.goto(base + path)
                if click:
                    page.locator(click).first.click()
                page.locator(ready).first.wait_for(timeout=30_000)
                time.sleep(1.5)  # charts draw after the data arrives
                page.screenshot(path=HERE / f"{name}{suffix}.png")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
