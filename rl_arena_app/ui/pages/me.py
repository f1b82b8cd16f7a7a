"""`/me`: a submitter's agents (upload, follow live, retire) and their API tokens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services.accounts import tokens
from rl_arena_app.services.catalog import env_ids, open_env_kinds
from rl_arena_app.services.read_models import Account, MyAgent, Quota, TokenView
from rl_arena_app.services.submissions.agents import my_agents, retire_agent
from rl_arena_app.services.submissions.intake import submit_upload
from rl_arena_app.services.submissions.quotas import quotas
from rl_arena_app.settings import get_settings
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import change_number, load
from rl_arena_app.ui.components.common import ago, empty_state, section, stat
from rl_arena_app.ui.components.table import header, scrolling
from rl_arena_app.ui.live import Live, agent_topic
from rl_arena_app.ui.pages.agent import VersionCard, to_version_card, version_card
from rl_arena_app.ui.pages.base import PageState
from rl_arena_app.ui.session import Session
from rl_arena_app.ui.uploads import UPLOAD_ID, rejection_messages

NEW_AGENT = "__new__"
ACCEPTED = {"text/x-python": [".py"], "application/zip": [".zip"],
            "application/gzip": [".tar.gz", ".tgz"], "application/x-tar": [".tar"]}


@dataclass(frozen=True, slots=True)
class AgentCard:
    """One of my agents as shown."""

    agent_id: int
    href: str
    name: str
    env_id: str
    retired: bool
    rating: str  # Elo (duels) or mean return (solo tasks) of the version on the board
    latest: VersionCard | None


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
class MePage:
    """What the page shows."""

    email: str
    admin: bool
    agents: list[AgentCard]
    tokens: list[TokenLine]
    envs: list[str]
    names_by_env: dict[str, list[str]]
    daily: str  # "3 of 20 today in tictactoe"
    active: str  # "2 of 10 active agents"


def _card(agent: MyAgent, kind: str) -> AgentCard:
    rating = (format.rating(agent.current_elo) if kind == "duel"
              else format.decimal(agent.current_score, 2))
    return AgentCard(agent_id=agent.agent_id, href=routes.agent(agent.agent_id), name=agent.name,
                     env_id=agent.env_id, retired=agent.retired, rating=rating,
                     latest=None if agent.latest is None else to_version_card(agent.latest,
                                                                               kind))


def _quota_line(quota: Quota, what: str) -> str:
    line = f"{quota.used} of {quota.limit} {what}"
    return line if quota.resets_at is None else f"{line} (resets {format.iso(quota.resets_at)})"


def _number(value: object, what: str) -> int:
    """An id sent by the browser, as a number."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise BadInput(f"no such {what}: reload the page") from None


def me_page(account: Account, env_id: str) -> MePage:
    """Everything the page shows of an account (blocking: call it in a thread)."""
    kinds = open_env_kinds()
    mine = my_agents(account)
    daily, active = quotas(account, env_id) if env_id in kinds else (None, None)
    names: dict[str, list[str]] = {env: [] for env in kinds}
    for agent in mine:
        if agent.env_id in names:
            names[agent.env_id].append(agent.name)
    return MePage(
        email=account.email, admin=account.is_admin,
        agents=[_card(a, kinds.get(a.env_id, "duel")) for a in mine],
        tokens=[_token_line(t) for t in tokens.list_tokens(account)],
        envs=list(kinds), names_by_env=names,
        daily=_quota_line(daily, f"submissions today in {env_id}") if daily else "",
        active=_quota_line(active, "active agents") if active else "")


def _token_line(token: TokenView) -> TokenLine:
    return TokenLine(token_id=token.token_id, name=token.name, prefix=token.prefix + "…",
                     scope=token.scope, created=format.iso(token.created_at),
                     last_used=format.iso(token.last_used_at), revoked=token.revoked)


class MeState(PageState):
    """The page of the logged-in submitter; every action checks the session again."""

    ROUTE = routes.ME
    env_id: str = ""
    agent_choice: str = NEW_AGENT
    new_name: str = ""
    progress: int = 0
    uploading: bool = False
    upload_message: str = ""
    upload_error: str = ""
    action_error: str = ""
    max_upload_mb: int = 50
    token_name: str = ""
    token_admin: bool = False
    new_token: str = ""  # shown once, right after it is made
    _changes: int = 0  # the number of this tab's latest action

    async def _account(self) -> Account | None:
        """The account of this tab's session, checked now; None says why on the page."""
        account = await (await self.get_state(Session))._signed_in()
        if account is None:
            self.action_error = "Your session has ended: log in again."
            self._changes = change_number()  # the page drops the account's data too
        return account

    @rx.event
    async def open(self):
        """A browser opened the page: only for a logged-in submitter."""
        account = await (await self.get_state(Session))._signed_in()
        if account is None:
            return rx.redirect(routes.login(routes.ME))
        self.max_upload_mb = get_settings().max_upload_mb
        self.new_token = self.upload_message = self.upload_error = self.action_error = ""
        if not self.env_id:
            self.env_id = next(iter(env_ids()), "")
        await self._follow(account)
        self.shown = True
        return None

    async def _follow(self, account: Account) -> None:
        """Follow my agents live."""
        mine = await asyncio.to_thread(my_agents, account)
        (await self.get_state(Live))._follow(*(agent_topic(a.agent_id) for a in mine))

    @rx.var
    async def page(self) -> MePage | None:
        """The account's agents, limits and tokens (live), while the tab's session lasts."""
        if not self._here():
            return None
        account = await (await self.get_state(Session))._signed_in()  # logged out: nothing more
        if account is None:
            return None
        live = await self.get_state(Live)
        page = await load(me_page, account, self.env_id, version=(live._version, self._changes))
        return page

    @rx.event
    def set_env(self, env_id: str):
        """Upload to this environment."""
        self.env_id = env_id
        self.agent_choice = NEW_AGENT

    @rx.event
    def set_agent_choice(self, choice: str):
        """A new agent, or a new version of one of mine."""
        self.agent_choice = choice

    @rx.event
    def set_new_name(self, name: str):
        self.new_name = name

    @rx.event
    def set_progress(self, progress: dict):
        """The browser's upload progress (0..1); the last report may come after the upload."""
        fraction = float(progress.get("progress") or 0)
        self.uploading = fraction < 1
        self.progress = round(fraction * 100)

    @rx.event
    def upload_rejected(self, messages: list[str]):
        """The browser refused the file (too large, wrong type): nothing was sent."""
        self.upload_message = ""
        self.upload_error = "; ".join(messages)[:500] or "that file cannot be uploaded"

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        """Submit the chosen file as a new agent or a new version of one of mine."""
        self.uploading, self.progress = False, 0
        if not files:
            self.upload_error = "Choose a file first: drop it on the box or click the box."
            return None
        self.upload_message = self.upload_error = ""
        account = await self._account()
        if account is None:
            self.upload_error = "Your session has ended: log in again, then upload."
            return None
        name = self.new_name.strip() if self.agent_choice == NEW_AGENT else self.agent_choice
        upload = files[0]
        try:
            data = await upload.read()
            submission = await asyncio.to_thread(
                submit_upload, account, env_id=self.env_id, name=name,
                filename=upload.name or "agent.py", data=data)
        except BadInput as exc:
            self.upload_error = str(exc)
            return rx.clear_selected_files(UPLOAD_ID)
        except InfrastructureError:
            self.upload_error = ("The arena cannot queue builds right now (nothing was "
                                 "stored): try again in a minute.")
            return rx.clear_selected_files(UPLOAD_ID)
        self.upload_message = (f"{name} v{submission.version} is queued: it is built, then "
                               "plays its validation games; this page follows it live.")
        self.new_name, self.agent_choice = "", name
        self._changes = change_number()
        await self._follow(account)
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    async def retire(self, agent_id: int):
        """Retire one of my agents (its owner or an admin only, checked by the service)."""
        self.action_error = ""
        account = await self._account()
        if account is None:
            return
        try:
            await asyncio.to_thread(retire_agent, account, _number(agent_id, "agent"))
        except BadInput as exc:
            self.action_error = str(exc)
        self._changes = change_number()

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
        self._changes = change_number()

    @rx.event
    async def revoke_token(self, token_id: int):
        """Revoke one of my tokens."""
        self.action_error = ""
        account = await self._account()
        if account is None:
            return
        try:
            await asyncio.to_thread(tokens.revoke_token, account, _number(token_id, "token"))
        except BadInput as exc:
            self.action_error = str(exc)
        self._changes = change_number()

    @rx.event
    def forget_token(self):
        """Hide the new token (it cannot be shown again)."""
        self.new_token = ""


# ------------------------------------------------------------------------------------ page


def _upload_card(page) -> rx.Component:
    names = page.names_by_env[MeState.env_id]
    return rx.card(rx.vstack(
        rx.heading("Upload an agent", size="4"),
        rx.text("A ", rx.code("agent.py"), " with ", rx.code("act(observation, info)"),
                ", or a .zip / .tar.gz with it (and a requirements.txt). See each "
                "environment's page for its observation, actions and a starter agent.",
                size="2", color_scheme="gray"),
        rx.flex(
            rx.vstack(rx.text("Environment", size="2", weight="medium"),
                      rx.select(page.envs, value=MeState.env_id, on_change=MeState.set_env,
                                id="upload-env"), spacing="1"),
            rx.vstack(rx.text("Agent", size="2", weight="medium"),
                      rx.select.root(
                          rx.select.trigger(id="upload-agent"),
                          rx.select.content(
                              rx.select.item("New agent…", value=NEW_AGENT),
                              rx.foreach(names, lambda n: rx.select.item(
                                  "new version of ", n, value=n))),
                          value=MeState.agent_choice, on_change=MeState.set_agent_choice),
                      spacing="1"),
            rx.cond(MeState.agent_choice == NEW_AGENT, rx.vstack(
                rx.text("Name", size="2", weight="medium"),
                rx.input(value=MeState.new_name, on_change=MeState.set_new_name,
                         placeholder="letters, digits, . _ -", max_length=64,
                         id="upload-name"), spacing="1")),
            spacing="4", wrap="wrap"),
        rx.upload.root(
            rx.vstack(rx.icon("upload", size=28, color="var(--gray-10)"),
                      rx.text("Drop the file here, or click to choose it", size="2"),
                      rx.text(".py, .zip, .tar.gz · up to ", MeState.max_upload_mb, " MiB",
                              size="1", color_scheme="gray"),
                      rx.foreach(rx.selected_files(UPLOAD_ID), lambda name: rx.badge(
                          name, size="2", class_name="selected-file")),
                      align="center", spacing="1"),
            id=UPLOAD_ID, multiple=False, max_files=1, max_size=MeState.max_upload_mb * 1024 * 1024,
            accept=ACCEPTED, disabled=MeState.uploading,
            on_drop_rejected=lambda rejected: MeState.upload_rejected(
                rejection_messages(rejected)),
            border="2px dashed var(--gray-a7)", border_radius="var(--radius-3)",
            padding="1.5em", width="100%", cursor="pointer"),
        rx.button(rx.icon("upload", size=16), "Upload", id="upload-button", size="3",
                  loading=MeState.uploading,
                  disabled=rx.selected_files(UPLOAD_ID).length() == 0,
                  on_click=MeState.upload(rx.upload_files(
                      upload_id=UPLOAD_ID, on_upload_progress=MeState.set_progress))),
        rx.cond(MeState.uploading, rx.progress(value=MeState.progress, width="100%",
                                               id="upload-progress")),
        rx.cond(MeState.upload_error != "",
                rx.callout(MeState.upload_error, icon="triangle-alert", color_scheme="red",
                           width="100%", id="upload-error")),
        rx.cond(MeState.upload_message != "",
                rx.callout(MeState.upload_message, icon="circle-check", color_scheme="green",
                           width="100%", id="upload-message")),
        rx.hstack(rx.text(page.daily, size="1", color_scheme="gray", id="quota-daily"),
                  rx.text(page.active, size="1", color_scheme="gray", id="quota-active"),
                  spacing="4", wrap="wrap"),
        spacing="3", width="100%"), width="100%", id="upload-card")


def _retire_button(card: AgentCard) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button("Retire", size="1", variant="soft",
                                          color_scheme="red", class_name="retire")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Retire ", card.name, "?"),
            rx.alert_dialog.description(
                "It stops playing matches and leaves the leaderboard; its history stays. "
                "Uploading a new version brings it back."),
            rx.hstack(rx.alert_dialog.cancel(rx.button("Cancel", variant="soft",
                                                       color_scheme="gray")),
                      rx.alert_dialog.action(rx.button(
                          "Retire", color_scheme="red", class_name="confirm-retire",
                          on_click=MeState.retire(card.agent_id))),
                      justify="end", spacing="3", margin_top="1em")))


def _agent_card(card: AgentCard) -> rx.Component:
    return rx.card(rx.vstack(
        rx.hstack(rx.link(rx.heading(card.name, size="4"), href=card.href),
                  rx.badge(card.env_id, variant="surface"),
                  rx.cond(card.retired, rx.badge("retired", color_scheme="gray")),
                  rx.spacer(), stat("rating", card.rating),
                  rx.cond(~card.retired, _retire_button(card)),
                  align="center", width="100%", wrap="wrap"),
        rx.cond(card.latest, version_card(card.latest.to(VersionCard))),
        rx.link("its matches →", href=routes.MATCHES + "?agent=" + card.agent_id.to(str),
                size="2"),
        spacing="3", width="100%"), width="100%", class_name="my-agent")


def _tokens(page) -> rx.Component:
    return section(
        "API tokens",
        rx.text("For ", rx.code("rl-arena submit"), " and the REST API (",
                rx.link("/api/v1", href="/api/v1/openapi.json", is_external=True),
                "): send it as ", rx.code("Authorization: Bearer …"), ".", size="2",
                color_scheme="gray"),
        rx.cond(MeState.new_token != "", rx.callout(
            rx.vstack(rx.text("Copy this token now: it is shown only once."),
                      rx.hstack(rx.code(MeState.new_token, id="new-token",
                                        overflow_wrap="anywhere"),
                                rx.icon_button(rx.icon("copy", size=14), size="1",
                                               on_click=rx.set_clipboard(MeState.new_token),
                                               aria_label="copy the token"),
                                rx.button("Done", size="1", variant="soft",
                                          on_click=MeState.forget_token),
                                align="center", wrap="wrap"),
                      spacing="2"),
            icon="key-round", color_scheme="amber", width="100%")),
        rx.hstack(
            rx.input(value=MeState.token_name, on_change=MeState.set_token_name,
                     placeholder="token name (e.g. laptop)", max_length=100, id="token-name"),
            rx.cond(page.admin, rx.checkbox("admin scope", checked=MeState.token_admin,
                                            on_change=MeState.set_token_admin)),
            rx.button("Create token", on_click=MeState.create_token, id="create-token"),
            align="center", wrap="wrap"),
        rx.cond(page.tokens.length() > 0, scrolling(rx.table.root(
            rx.table.header(rx.table.row(header("Name"), header("Token"), header("Scope"),
                                         header("Created"), header("Last used"),
                                         header(""))),
            rx.table.body(rx.foreach(page.tokens, lambda t: rx.table.row(
                rx.table.cell(t.name), rx.table.cell(rx.code(t.prefix)),
                rx.table.cell(t.scope), rx.table.cell(ago(t.created)),
                rx.table.cell(ago(t.last_used)),
                rx.table.cell(rx.cond(t.revoked, rx.badge("revoked", color_scheme="gray"),
                                      rx.button("Revoke", size="1", variant="soft",
                                                color_scheme="red",
                                                on_click=MeState.revoke_token(t.token_id))))),
            )), size="1", variant="surface", width="100%", id="tokens"))),
        id="api-tokens")


def body() -> rx.Component:
    page = MeState.page
    return rx.cond(page, rx.vstack(
        rx.hstack(rx.heading("My agents", size="8"), rx.spacer(),
                  rx.text("logged in as ", rx.text.strong(page.email, id="me-email"),
                          color_scheme="gray", size="2"),
                  align="center", width="100%", wrap="wrap"),
        rx.cond(MeState.action_error != "",
                rx.callout(MeState.action_error, icon="triangle-alert", color_scheme="red",
                           width="100%", id="action-error")),
        _upload_card(page),
        section("Agents", rx.cond(
            page.agents.length() > 0,
            rx.vstack(rx.foreach(page.agents, _agent_card), spacing="3", width="100%"),
            empty_state("No agents yet: upload one above. It is built, validated against a "
                        "random player, then paired with agents of similar rating.")),
            id="my-agents"),
        _tokens(page),
        spacing="4", width="100%"),
        # Opened, yet nothing to show: the session ended (here or in another tab).
        rx.cond(MeState.shown, rx.callout(
            rx.text("Your session has ended: ",
                    rx.link("log in again", href=routes.login(routes.ME)), "."),
            icon="log-out", width="100%", id="session-ended"), rx.spinner()))
