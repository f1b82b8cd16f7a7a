"""Who is logged in, as the dashboard sees it: the session cookie of the tab's websocket.

Reflex copies the websocket handshake's headers into each event's router data (and never sends
the cookie back to the browser), so ``self.router.headers.cookie`` is the browser's real Cookie
header. The email shown is for display; every privileged handler asks ``signed_in()`` again,
which checks the session on the server (logged out or revoked: refused at once).

Reflex also logs a failed event with its router data, Cookie header included: every log record
of a process serving the dashboard has its credentials redacted (installed when this module is
imported, which the app module does).
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback

import reflex as rx
from starlette.requests import cookie_parser

from rl_arena_app.services import sessions
from rl_arena_app.services.read_models import Account
from rl_arena_app.ui import routes

REDACTED = "[redacted]"
# A credential header's value in a dict or dataclass repr: 'cookie': '...', cookie='...'.
_CREDENTIAL_HEADER = re.compile(
    r"""(?P<key>\b(?:cookie|set-cookie|authorization|proxy-authorization|x-api-key)['"]?"""
    r"""\s*[:=]\s*)(?P<quote>['"])(?:\\.|(?!(?P=quote)).)*(?P=quote)""", re.IGNORECASE)
# The session cookie or a bearer token written any other way (a raw header, a URL).
_CREDENTIAL_TEXT = re.compile(rf"(?P<key>\b{sessions.COOKIE}=|\bBearer\s+)[^\s;,'\"]+",
                              re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the values of credential headers, the session cookie and bearer tokens
    replaced by [redacted]."""
    text = _CREDENTIAL_HEADER.sub(lambda m: f"{m['key']}{m['quote']}{REDACTED}{m['quote']}",
                                  text)
    return _CREDENTIAL_TEXT.sub(lambda m: f"{m['key']}{REDACTED}", text)


def keep_credentials_out_of_logs() -> None:
    """Redact credentials from every log record this process makes, whichever logger and
    handler (Reflex's loggers chain to its own handlers or to the root); once per process."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts", False):
        return

    def redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad %-arguments: logging reports them when it emits
            return record
        if (cleaned := redact(message)) != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[0] and not record.exc_text:
            # Formatters use a record's exc_text as it is: the traceback, redacted once here.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        return record

    redacted_record.redacts = True
    logging.setLogRecordFactory(redacted_record)


keep_credentials_out_of_logs()


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

