"""`/me`: a submitter's agents (upload, follow live, retire) and their API tokens.

The upload form and the tokens are parts with states of their own (`ui/me/`); this page's state
holds the agents.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.errors import BadInput
from rl_arena_app.services.catalog import open_env_kinds
from rl_arena_app.services.read_models import Account, MyAgent
from rl_arena_app.services.submissions.agents import my_agents, retire_agent
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import load
from rl_arena_app.ui.components.common import empty_state, error_callout, section, stat
from rl_arena_app.ui.components.version_card import VersionCard, to_version_card, version_card
from rl_arena_app.ui.me.account import MyAccount, browser_id
from rl_arena_app.ui.me.tokens import TokensState, tokens_section
from rl_arena_app.ui.me.upload import UploadState, upload_card


@dataclass(frozen=True, slots=True)
class AgentCard:
    """One of my agents as shown."""

    agent_id: int
    href: str
    matches_href: str
    name: str
    env_id: str
    retired: bool
    rating: str  # Elo (duels) or mean return (solo tasks) of the version on the board
    latest: VersionCard | None


@dataclass(frozen=True, slots=True)
class MePage:
    """Who is logged in, and their agents."""

    email: str
    agents: list[AgentCard]


def _card(agent: MyAgent, kind: str) -> AgentCard:
    rating = (format.rating(agent.current_elo) if kind == "duel"
              else format.decimal(agent.current_score, 2))
    return AgentCard(agent_id=agent.agent_id, href=routes.agent(agent.agent_id),
                     matches_href=routes.matches(agent.agent_id), name=agent.name,
                     env_id=agent.env_id, retired=agent.retired, rating=rating,
                     latest=None if agent.latest is None else to_version_card(agent.latest,
                                                                               kind))


def me_page(account: Account) -> MePage:
    """What the page shows of an account (blocking: call it in a thread)."""
    kinds = open_env_kinds()
    return MePage(email=account.email,
                  agents=[_card(a, kinds.get(a.env_id, "duel")) for a in my_agents(account)])


class MeState(MyAccount):
    """The page of the logged-in submitter; every action checks the session again."""

    @rx.event
    async def open(self):
        """A browser opened the page: only for a logged-in submitter."""
        account = await self._signed_in()
        if account is None:
            return rx.redirect(routes.login(routes.ME))
        self.action_error = ""
        (await self.get_state(UploadState))._open()
        (await self.get_state(TokensState)).new_token = ""
        await self._follow(account)
        self.shown = True
        return None

    @rx.var
    async def page(self) -> MePage | None:
        """The account's agents (live), while the tab's session lasts."""
        if not self._here():
            return None
        account = await self._signed_in()  # logged out: nothing more
        if account is None:
            return None
        return await load(me_page, account, version=(await self._live_version(), self._changes))

    @rx.event
    async def retire(self, agent_id: int):
        """Retire one of my agents (its owner or an admin only, checked by the service)."""
        self.action_error = ""
        account = await self._account()
        if account is None:
            return
        try:
            await asyncio.to_thread(retire_agent, account, browser_id(agent_id, "agent"))
        except BadInput as exc:
            self.action_error = str(exc)
        self._changed()


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
        rx.link("its matches →", href=card.matches_href, size="2"),
        spacing="3", width="100%"), width="100%", class_name="my-agent")


def body() -> rx.Component:
    page = MeState.page
    return rx.cond(page, rx.vstack(
        rx.hstack(rx.heading("My agents", size="8"), rx.spacer(),
                  rx.text("logged in as ", rx.text.strong(page.email, id="me-email"),
                          color_scheme="gray", size="2"),
                  align="center", width="100%", wrap="wrap"),
        error_callout(MeState.action_error, id="action-error"),
        upload_card(),
        section("Agents", rx.cond(
            page.agents.length() > 0,
            rx.vstack(rx.foreach(page.agents, _agent_card), spacing="3", width="100%"),
            empty_state("No agents yet: upload one above. It is built, validated against a "
                        "random player, then paired with agents of similar rating.")),
            id="my-agents"),
        tokens_section(),
        spacing="4", width="100%"),
        # Opened, yet nothing to show: the session ended (here or in another tab).
        rx.cond(MeState.shown, rx.callout(
            rx.text("Your session has ended: ",
                    rx.link("log in again", href=routes.login(routes.ME)), "."),
            icon="log-out", width="100%", id="session-ended"), rx.spinner()))
