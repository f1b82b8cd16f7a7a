"""`/matches/{match_id}`: the players, what identifies the match, each game, the replay."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services.ids import parse_id
from rl_arena_app.services.matches.views import match_detail
from rl_arena_app.services.read_models import GameView, MatchDetail
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import load_or_none
from rl_arena_app.ui.components.common import (
    breadcrumb,
    detail_frame,
    error_callout,
    section,
    stat,
    status_badge,
    time_stat,
)
from rl_arena_app.ui.components.replay import ReplayState, viewer
from rl_arena_app.ui.components.sides import SideView, side_card, side_view
from rl_arena_app.ui.components.table import header, num, table
from rl_arena_app.ui.live import match_topic
from rl_arena_app.ui.pages.base import PageState


@dataclass(frozen=True, slots=True)
class GameLine:
    """A recorded game as listed."""

    number: int
    first: str
    outcome: str
    forfeit: str
    detail: str
    steps: int
    duration: str
    elo_a: str
    elo_b: str


@dataclass(frozen=True, slots=True)
class MatchHeader:
    """What identifies a match and how it went."""

    match_id: int
    env_id: str
    env_href: str
    status: str
    a: SideView
    b: SideView
    seed: str
    env_version: str
    image_a: str
    image_b: str
    attempts: int
    worker: str
    created: str
    finished: str
    error: str


@dataclass(frozen=True, slots=True)
class MatchPageView:
    """The page's data."""

    header: MatchHeader
    games: list[GameLine]


def game_line(game: GameView, names: tuple[str, str]) -> GameLine:
    """A game with who moved first, the outcome, a forfeit's reason and the Elo changes."""
    side = {"a": names[0], "b": names[1]}
    if game.outcome == "forfeit":
        outcome = f"{side[game.forfeit_side]} forfeits" if game.forfeit_side else "forfeit"
    elif game.winner is None:
        outcome = "draw"
    else:
        outcome = f"{side[game.winner]} wins"
    return GameLine(
        number=game.index + 1, first=side[game.first], outcome=outcome,
        forfeit=game.forfeit_reason or "", detail=game.forfeit_detail or "", steps=game.steps,
        duration=format.seconds(game.duration_s),
        elo_a=format.change(game.elo_a_before, game.elo_a_after),
        elo_b=format.change(game.elo_b_before, game.elo_b_after))


def match_view(detail: MatchDetail) -> MatchPageView:
    """What the page shows of a match."""
    m = detail.summary
    a, b = side_view(m.a), side_view(m.b)
    header = MatchHeader(
        match_id=m.match_id, env_id=m.env_id, env_href=routes.env(m.env_id), status=m.status,
        a=a, b=b, seed=str(detail.seed), env_version=detail.env_version or format.DASH,
        image_a=detail.images[0] or format.DASH, image_b=detail.images[1] or format.DASH,
        attempts=detail.attempts, worker=detail.worker or format.DASH,
        created=format.iso(m.created_at), finished=format.iso(m.finished_at),
        error=m.error or "")
    return MatchPageView(header=header,
                         games=[game_line(g, (a.name, b.name)) for g in detail.games])


class MatchState(PageState):
    """One match's page; it follows the match live (its result and replay arrive)."""

    ROUTE = routes.MATCH
    missing: str = ""

    @rx.event
    async def open(self):
        """A browser opened the page: check the id, point the viewer at the replay."""
        self.missing = ""
        match_id = parse_id(self.match_id)
        if match_id is None or await load_or_none(match_detail, match_id) is None:
            self.missing = f"There is no match {self.match_id!r}: see the list of matches."
        replay = await self.get_state(ReplayState)
        replay.show("" if self.missing else f"match:{self.match_id}")
        await self._show(match_topic(self.match_id))

    @rx.var
    async def page(self) -> MatchPageView | None:
        match_id = parse_id(self.match_id)
        if not self._here() or self.missing or match_id is None:
            return None
        detail = await load_or_none(match_detail, match_id, version=await self._live_version())
        return None if detail is None else match_view(detail)


def players(h) -> rx.Component:
    return rx.flex(side_card(h.a, "player a"), side_card(h.b, "player b"), spacing="4",
                   direction=rx.breakpoints(initial="column", sm="row"), width="100%")


def games_table(page) -> rx.Component:
    return table(
        [header("Game"), header("First"), header("Outcome"), header("Forfeit"),
         header("Moves", True), header("Time", True), header("Elo a", True),
         header("Elo b", True)],
        page.games, lambda g: rx.table.row(
            num(g.number), rx.table.cell(g.first), rx.table.cell(g.outcome),
            rx.table.cell(rx.cond(g.forfeit != "", rx.tooltip(
                rx.badge(g.forfeit, color_scheme="red"), content=g.detail))),
            num(g.steps), num(g.duration), num(g.elo_a), num(g.elo_b),
            class_name="game-row"),
        id="games")


def body() -> rx.Component:
    page = MatchState.page
    h = page.header
    return detail_frame("Match", MatchState.missing, rx.vstack(
        breadcrumb(("Matches", routes.MATCHES), (h.env_id, h.env_href)),
        rx.hstack(rx.heading("Match #", h.match_id, size="8", id="match-title"),
                  status_badge(h.status), align="center"),
        players(h),
        error_callout(h.error),
        rx.grid(stat("seed", h.seed), stat("environment version", h.env_version),
                stat("attempts", h.attempts), stat("worker", h.worker),
                time_stat("finished", h.finished),
                columns=rx.breakpoints(initial="2", md="5"), spacing="4", width="100%"),
        rx.text("images: ", rx.code(h.image_a), " · ", rx.code(h.image_b), size="1",
                color_scheme="gray", id="images"),
        section("Games", games_table(page)),
        section("Replay", viewer()),
        spacing="4", width="100%"), loaded=page)
