"""Who is logged in, as the dashboard sees it: the session cookie of the tab's websocket.

Reflex copies the websocket handshake's headers into each event's router data (and never sends
the cookie back to the browser), so ``self.router.headers.cookie`` is the browser's real Cookie
header. The email shown is for display; every privileged handler asks ``signed_in()`` again,
which checks the session on the server (logged out or revoked: refused at once).
"""

from __future__ import annotations

import asyncio

import reflex as rx
from starlette.requests import cookie_parser

from rl_arena_app.services.accounts import sessions
from rl_arena_app.services.read_models import Account
from rl_arena_app.ui import routes


def cookie_value(header: str | None) -> str | None:
    """The session cookie's value in a Cookie header, if any."""
    return cookie_parser(header or "").get(sessions.COOKIE) or None


class Session(rx.State):
    """The tab's login, for display: email, name, admin badge."""

    email: str = ""
    name: str = ""
    admin: bool = False
    expired: bool = False  # a session cookie came but is no longer valid

    async def _signed_in(self) -> Account | None:
        """The account behind this tab's cookie, checked on the server now."""
        cookie = cookie_value(self.router.headers.cookie)
        if cookie is None:
            return None
        return await asyncio.to_thread(sessions.session_account, cookie)

    @rx.event
    async def refresh(self):
        """Check the login again (each page load)."""
        account = await self._signed_in()
        self.email = account.email if account else ""
        self.name = account.name if account else ""
        self.admin = bool(account and account.is_admin)
        self.expired = account is None and cookie_value(self.router.headers.cookie) is not None

    @rx.var
    def login_href(self) -> str:
        """The login page, coming back to this page afterwards."""
        return routes.login(self.router.url.path)

