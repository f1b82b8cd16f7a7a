"""`/login`: a button per configured identity provider, and the development login off production."""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx

from rl_arena_app.auth.login import PROVIDER_NAMES, read_login_error, safe_next
from rl_arena_app.settings import get_settings
from rl_arena_app.ui import routes
from rl_arena_app.ui.components.common import error_callout, native_form
from rl_arena_app.ui.pages.base import PageState
from rl_arena_app.ui.session import Session

MAX_ERROR = 2000  # a signed reason (see auth.login); anything longer was not made here


class LoginState(PageState):
    """The login page: where to go afterwards and why a login failed."""

    ROUTE = routes.LOGIN
    error: str = ""
    next_path: str = "/me"
    providers: list[str] = []  # read when the page opens: the build does not fix them
    development: bool = False

    @rx.event
    async def open(self):
        """A browser opened the page (maybe back from a refused login)."""
        query = self.router.url.query_parameters
        settings = get_settings()
        signed = query.get("error", "")[:MAX_ERROR]
        self.error = read_login_error(settings, signed) if signed else ""
        self.next_path = safe_next(query.get("next"))
        self.providers = list(settings.login_providers)
        self.development = settings.env != "production"
        self.shown = True
        session = await self.get_state(Session)
        if await session._signed_in() is not None and not self.error:
            return rx.redirect(self.next_path)
        return None

    @rx.var
    def next_query(self) -> str:
        """The ``next`` parameter for the provider links."""
        return quote(self.next_path, safe="/")


def _provider_button(provider: rx.Var[str]) -> rx.Component:
    return rx.el.a(
        rx.button(rx.icon("log-in", size=18), "Log in with ",
                  rx.match(provider, *PROVIDER_NAMES.items(), provider), size="3",
                  width="100%", variant="surface"),
        # A real page load (not the client router): the backend answers with a redirect.
        href=routes.provider_login(provider, LoginState.next_query),
        reload_document=True, id="login-" + provider, width="100%")


def _development_login() -> rx.Component:
    return rx.vstack(
        rx.divider(),
        rx.text("Development login", weight="bold"),
        rx.text("This arena is not in production: log in as any email, no password. "
                "Production turns this off.", size="2", color_scheme="gray"),
        # The browser posts it: the response sets the HttpOnly cookie and loads the next page.
        native_form(
            rx.hstack(
                rx.input(name="email", type="email", placeholder="you@example.org",
                         required=True, id="dev-email", flex="1"),
                rx.el.input(type="hidden", name="next", value=LoginState.next_path),
                rx.button("Log in", type="submit", id="dev-login"),
                width="100%"),
            action=routes.DEV_LOGIN, width="100%"),
        spacing="2", width="100%")


def body() -> rx.Component:
    return rx.center(rx.card(rx.vstack(
        rx.heading("Log in to RL Arena", size="6"),
        rx.text("Logging in lets you upload agents, follow them and create API tokens. "
                "Everything else is readable without an account.", color_scheme="gray"),
        error_callout(LoginState.error, id="login-error"),
        rx.cond(Session.expired,
                rx.callout("Your session ended (logged out, expired or revoked): log in again.",
                           icon="info", width="100%")),
        rx.foreach(LoginState.providers, _provider_button),
        rx.cond(LoginState.providers.length() == 0,
                rx.text("No identity provider is configured yet.", size="2",
                        color_scheme="gray")),
        rx.cond(LoginState.development, _development_login()),
        spacing="4", width="100%"), width="100%", max_width="420px"), padding_y="3em")
