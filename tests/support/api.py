"""What the API tests share: a real uvicorn serving an app, and people with tokens (the fixtures
built on them are in tests/integration/conftest.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from rl_arena_app.services.accounts import logins, tokens, users
from rl_arena_app.services.read_models import Account

API = "/api/v1"


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # proxy_headers off: the app sees the real peer, as under granian (`rl-arena web`), and
    # reads X-Forwarded-For itself, from the proxies it trusts.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@dataclass
class Person:
    """An account and its token (as ``Authorization`` headers)."""

    account: Account
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person(email: str, *, admin: bool = False, scope: str = "submit") -> Person:
    """A logged-in person with a fresh token of ``scope``."""
    account = logins.login("oidc", f"sub-{email}", email, True, email.split("@")[0])
    if admin:
        account = users.set_admin(email, True)
    return Person(account, tokens.create_token(account, scope, "tests"))
