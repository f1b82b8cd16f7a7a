"""The whole platform for browser tests: `rl-arena up` (workers, scheduler, dashboard) on a
private data dir, and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.browser import ADMIN_EMAIL, chromium

# Fixed, so that repeated runs reuse the dashboard's build (which bakes the URL in).
WEB_PORT = int(os.environ.get("RL_ARENA_E2E_PORT", "3917"))
BUDGET_S = 300


@dataclass
class Arena:
    """A running platform: its URL, environment and log."""

    url: str
    env: dict[str, str]
    log: Path
    data_dir: Path

    def cli(self, *args: str) -> str:
        """Run `rl-arena ARGS` against this platform; its stdout."""
        done = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def status(self) -> dict:
        return json.loads(self.cli("status", "--json"))


def _wait(condition, timeout_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen:\n{log.read_text()[-4000:]}"
        time.sleep(1)


def _web_answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False




@pytest.fixture(scope="package")
def oidc_issuer() -> Iterator[str]:
    """A real OpenID Connect provider on localhost (oidc-provider-mock, in a thread)."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="package")
def arena(tmp_path_factory, docker_engine, oidc_issuer) -> Iterator[Arena]:
    """`rl-arena up` with two workers and the dashboard, alive with house agents playing; logins
    through the OpenID Connect provider (and the development login)."""
    if _web_answers(f"http://localhost:{WEB_PORT}"):  # the tests would talk to that one instead
        pytest.fail(f"port {WEB_PORT} already serves something (an rl-arena up left running?): "
                    "stop it, or set RL_ARENA_E2E_PORT to a free port")
    data_dir = tmp_path_factory.mktemp("arena-e2e") / "arena"
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "RL_ARENA_REDIS_URL", "RL_ARENA_DATABASE_URL")}
    env.update(RL_ARENA_DATA_DIR=str(data_dir), RL_ARENA_MATCHMAKING_INTERVAL_S="2",
               RL_ARENA_SANDBOX="docker", RL_ARENA_WEB_PORT=str(WEB_PORT),
               RL_ARENA_BT_DEBOUNCE_S="0.5", PYTHONUNBUFFERED="1",
               RL_ARENA_OIDC_ISSUER=oidc_issuer, RL_ARENA_OIDC_CLIENT_ID="rl-arena-e2e",
               RL_ARENA_OIDC_CLIENT_SECRET="e2e-secret", RL_ARENA_ADMIN_EMAILS=ADMIN_EMAIL)
    log = data_dir.parent / "up.log"
    up = subprocess.Popen([sys.executable, "-m", "rl_arena_app.cli", "up", "--workers", "2"],
                          env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    platform = Arena(f"http://localhost:{WEB_PORT}", env, log, data_dir)
    try:
        _wait(lambda: up.poll() is None and _web_answers(platform.url), BUDGET_S,
              "the dashboard answering", log)

        def played() -> bool:
            counts = platform.status()
            return counts["matches"]["finished"] >= 2 and counts["submissions"]["ready"] >= 7

        _wait(played, BUDGET_S, "the house agents playing", log)
        yield platform
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()


@pytest.fixture(scope="package")
def browser():
    """Debian's Chromium under Playwright."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh tab; its console errors are collected in ``page.errors`` and must stay empty."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    yield tab
    context.close()


@pytest.fixture(scope="package")
def foreign_origin() -> Iterator[str]:
    """Another site's page server: another port of localhost (same site, other origin), the
    place a cross-site attack on the dashboard would come from."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>Somewhere else</title><p>another site</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
