"""`/`: one card per environment, the live feed and the platform's health."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services.catalog import env_cards
from rl_arena_app.services.read_models import EnvCard
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import load
from rl_arena_app.ui.components.common import ago, empty_state, section, stat, time_stat
from rl_arena_app.ui.live import Live
from rl_arena_app.ui.pages.base import PageState

MATCHMAKING_COLOURS = {"running": "green", "paused": "amber", "disabled": "red",
                       "scored at validation": "gray"}


@dataclass(frozen=True, slots=True)
class CardView:
    """An environment card as shown."""

    env_id: str
    href: str
    kind: str
    description: str
    agents: int
    games_24h: int
    games: int
    matchmaking: str
    colour: str
    leader: str
    leader_href: str
    leader_score: str


def card_view(card: EnvCard) -> CardView:
    """What a card shows of an environment."""
    leader = card.leader
    score = "" if leader is None else (
        f"Elo {format.rating(leader.score)}" if card.kind == "duel"
        else f"mean return {format.decimal(leader.score)}")
    return CardView(
        env_id=card.env_id, href=routes.env(card.env_id), kind=card.kind,
        description=card.description, agents=card.agents, games_24h=card.games_24h,
        games=card.games, matchmaking=card.matchmaking,
        colour=MATCHMAKING_COLOURS.get(card.matchmaking, "gray"),
        leader=leader.name if leader else "", leader_href=routes.agent(leader.agent_id)
        if leader else "", leader_score=score)


class OverviewState(PageState):
    """The catalog, reloaded when any environment moves."""

    ROUTE = routes.OVERVIEW

    @rx.event
    async def open(self):
        """The page is in a browser: load its data."""
        await self._show()

    @rx.var
    async def cards(self) -> list[CardView]:
        """Every environment's card."""
        if not self._here():
            return []
        return [card_view(c) for c in await load(env_cards, version=await self._live_version())]


def env_card(card: CardView) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(rx.heading(card.env_id, size="4"), rx.spacer(),
                          rx.badge(card.kind, variant="outline"), width="100%"),
                rx.text(card.description, size="2", color_scheme="gray"),
                rx.hstack(stat("agents", card.agents), stat("games (24 h)", card.games_24h),
                          stat("games", card.games), spacing="5"),
                rx.hstack(
                    rx.text("leader", size="1", color_scheme="gray"),
                    rx.cond(card.leader != "",
                            rx.text(card.leader, " · ", card.leader_score, size="2",
                                    weight="medium"),
                            rx.text("nobody yet", size="2", color_scheme="gray")),
                    align="center"),
                rx.badge("matchmaking: ", card.matchmaking, color_scheme=card.colour,
                         variant="soft"),
                spacing="3", align="start"),
            height="100%", class_name="env-card"),
        href=card.href, underline="none", id=f"env-card-{card.env_id}")


def health_strip() -> rx.Component:
    h = Live.health
    return rx.card(
        rx.flex(
            stat("Redis", h.redis, id="health-redis"),
            stat("workers alive", h.workers_alive, id="health-workers"),
            stat("matches queued", h.queued, id="health-queued"),
            stat("matches running", h.running, id="health-running"),
            time_stat("last scheduler tick", h.last_tick_at, size="4", weight="bold"),
            rx.link("status →", href=routes.STATUS, size="2"),
            wrap="wrap", spacing="6", align="center"),
        width="100%", id="health")


def feed_line(item) -> rx.Component:
    return rx.hstack(
        rx.text(ago(item.at), size="1", color_scheme="gray", min_width="7em"),
        rx.badge(item.env_id, variant="surface"),
        rx.link(item.text, href=rx.cond(item.match_id, routes.match(item.match_id),
                                        routes.agent(item.agent_ids[0])), size="2"),
        align="center", spacing="3", class_name="feed-item", wrap="wrap")


def body() -> rx.Component:
    return rx.vstack(
        rx.heading("Arena", size="8"),
        rx.text("Agents play in sandboxes; a trusted referee keeps score. Everything below "
                "updates live.", color_scheme="gray"),
        health_strip(),
        section("Environments",
                rx.grid(rx.foreach(OverviewState.cards, env_card),
                        columns=rx.breakpoints(initial="1", sm="2", lg="3"), spacing="4",
                        width="100%"),
                id="envs"),
        section("Live feed",
                rx.cond(Live.feed.length() > 0,
                        rx.vstack(rx.foreach(Live.feed, feed_line), spacing="2",
                                  width="100%"),
                        empty_state("Nothing has happened yet: finished matches and new "
                                    "submissions appear here as they happen.")),
                id="feed"),
        spacing="4", width="100%")
