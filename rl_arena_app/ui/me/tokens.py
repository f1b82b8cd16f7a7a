"""`/me`'s API tokens: make one (shown once), list them, revoke one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.errors import BadInput
from rl_arena_app.services.accounts import tokens
from rl_arena_app.services.read_models import Account, TokenView
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import load
from rl_arena_app.ui.components.common import ago, section
from rl_arena_app.ui.components.table import header, table
from rl_arena_app.ui.me.account import MyAccount, browser_id


@dataclass(frozen=True, slots=True)
class TokenLine:
    """An API token as its owner sees it."""

    token_id: int
    name: str
    prefix: str
    scope: str
    created: str
    last_used: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class MyTokens:
    """My tokens, and whether I may make admin ones."""

    admin: bool
    lines: list[TokenLine]


def _token_line(token: TokenView) -> TokenLine:
    return TokenLine(token_id=token.token_id, name=token.name, prefix=token.prefix + "…",
                     scope=token.scope, created=format.iso(token.created_at),
                     last_used=format.iso(token.last_used_at), revoked=token.revoked)


def my_tokens(account: Account) -> MyTokens:
    """The tokens of ``account`` (blocking: call it in a thread)."""
    return MyTokens(admin=account.is_admin,
                    lines=[_token_line(t) for t in tokens.list_tokens(account)])


class TokensState(MyAccount):
    """The token form, and the new token while it is shown."""

    token_name: str = ""
    token_admin: bool = False
    new_token: str = ""  # shown once, right after it is made

    @rx.var
    async def mine(self) -> MyTokens | None:
        """My tokens (live), while the tab's session lasts."""
        if not self._here():
            return None
        account = await self._signed_in()
        if account is None:
            return None
        return await load(my_tokens, account,
                          version=(await self._live_version(), self._changes))

    @rx.event
    def set_token_name(self, name: str):
        self.token_name = name

    @rx.event
    def set_token_admin(self, admin: bool):
        self.token_admin = admin

    @rx.event
    async def create_token(self):
        """Make an API token and show it this once."""
        self.action_error = self.new_token = ""
        account = await self._account()
        if account is None:
            return
        try:
            self.new_token = await asyncio.to_thread(
                tokens.create_token, account, "admin" if self.token_admin else "submit",
                self.token_name, rate_limited=True)
        except BadInput as exc:
            self.action_error = str(exc)
        self.token_name, self.token_admin = "", False
        self._changed()

    @rx.event
    async def revoke_token(self, token_id: int):
        """Revoke one of my tokens."""
        self.action_error = ""
        account = await self._account()
        if account is None:
            return
        try:
            await asyncio.to_thread(tokens.revoke_token, account, browser_id(token_id, "token"))
        except BadInput as exc:
            self.action_error = str(exc)
        self._changed()

    @rx.event
    def forget_token(self):
        """Hide the new token (it cannot be shown again)."""
        self.new_token = ""


def _new_token() -> rx.Component:
    s = TokensState
    return rx.cond(s.new_token != "", rx.callout(
        rx.vstack(rx.text("Copy this token now: it is shown only once."),
                  rx.hstack(rx.code(s.new_token, id="new-token", overflow_wrap="anywhere"),
                            rx.icon_button(rx.icon("copy", size=14), size="1",
                                           on_click=rx.set_clipboard(s.new_token),
                                           aria_label="copy the token"),
                            rx.button("Done", size="1", variant="soft",
                                      on_click=s.forget_token),
                            align="center", wrap="wrap"),
                  spacing="2"),
        icon="key-round", color_scheme="amber", width="100%"))


def _tokens_table(mine) -> rx.Component:
    return table(
        [header("Name"), header("Token"), header("Scope"), header("Created"),
         header("Last used"), header("")],
        mine.lines, lambda t: rx.table.row(
            rx.table.cell(t.name), rx.table.cell(rx.code(t.prefix)),
            rx.table.cell(t.scope), rx.table.cell(ago(t.created)),
            rx.table.cell(ago(t.last_used)),
            rx.table.cell(rx.cond(t.revoked, rx.badge("revoked", color_scheme="gray"),
                                  rx.button("Revoke", size="1", variant="soft",
                                            color_scheme="red",
                                            on_click=TokensState.revoke_token(t.token_id))))),
        id="tokens")


def tokens_section() -> rx.Component:
    """How to use a token, the form, the new token, my tokens."""
    s = TokensState
    mine = s.mine
    return rx.cond(mine, section(
        "API tokens",
        rx.text("For ", rx.code("rl-arena submit"), " and the REST API (",
                rx.link("/api/v1", href=routes.API_DOCS, is_external=True),
                "): send it as ", rx.code("Authorization: Bearer …"), ".", size="2",
                color_scheme="gray"),
        _new_token(),
        rx.hstack(
            rx.input(value=s.token_name, on_change=s.set_token_name,
                     placeholder="token name (e.g. laptop)", max_length=100, id="token-name"),
            rx.cond(mine.admin, rx.checkbox("admin scope", checked=s.token_admin,
                                            on_change=s.set_token_admin)),
            rx.button("Create token", on_click=s.create_token, id="create-token"),
            align="center", wrap="wrap"),
        rx.cond(mine.lines.length() > 0, _tokens_table(mine)),
        id="api-tokens"))
