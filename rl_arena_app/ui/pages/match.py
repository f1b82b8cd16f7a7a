"""`/matches/{match_id}`: the players, what identifies the match, each game, the replay."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.ids import parse_id
from rl_arena_app.services.matches.views import match_detail
from rl_arena_app.services.read_models import Account, AuditView, GameView, MatchDetail
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import change_number, load_or_none
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
from rl_arena_app.ui.live import AUDIT, match_topic
from rl_arena_app.ui.pages.base import PageState
from rl_arena_app.ui.session import Session


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


@dataclass(frozen=True, slots=True)
class RerunLine:
    """How an admin's re-run of the match is going, or how it came out."""

    entry_id: int
    outcome: str  # running, ok, failed, refused (as audited)
    text: str


def rerun_line(entry: AuditView) -> RerunLine:
    """The re-run's audit entry, in words: its progress, `identical`, the first difference, or
    why it was refused."""
    if entry.outcome == "running":
        done = f"{round(100 * (entry.progress or 0))}%"
        text = f"running ({done}){': ' + entry.detail if entry.detail else ''}"
    elif entry.outcome == "ok":
        text = entry.detail
    else:
        text = f"refused: {entry.detail}"
    return RerunLine(entry_id=entry.entry_id, outcome=entry.outcome, text=text)


def rerun_of(account: Account, entry_id: int) -> RerunLine:
    """The re-run ``entry_id`` as the admin ``account`` may see it (blocking)."""
    return rerun_line(actions.audit_entry(account, entry_id))


class MatchState(PageState):
    """One match's page; it follows the match live (its result and replay arrive)."""

    ROUTE = routes.MATCH
    missing: str = ""
    rerun_entry: int = 0  # the audit entry of the re-run this tab started (0: none)
    rerun_error: str = ""
    _changes: int = 0

    @rx.event
    async def open(self):
        """A browser opened the page: check the id, point the viewer at the replay."""
        self.missing, self.rerun_entry, self.rerun_error = "", 0, ""
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

    @rx.var
    async def rerun(self) -> RerunLine | None:
        """The re-run this tab started (live); None before one, or for anyone but an admin."""
        if not self._here() or not self.rerun_entry:
            return None
        account = await (await self.get_state(Session))._signed_in()
        if account is None or not account.is_admin:
            return None
        return await load_or_none(rerun_of, account, self.rerun_entry,
                                  version=(await self._live_version(), self._changes))

    @rx.event
    async def start_rerun(self, match_id: int | str):
        """Play match ``match_id`` (this page's) again, an admin action a worker runs, and
        follow its audit entry."""
        actor = await (await self.get_state(Session))._signed_in()
        self.rerun_error = ""
        try:
            entry = await asyncio.to_thread(actions.perform, actor, "rerun-match",
                                            str(match_id))
        except audit.AlreadyRunning as exc:  # a double click: follow the one running
            entry = exc.entry
        except BadInput as exc:
            self.rerun_error = f"Refused: {exc}"
            return
        except InfrastructureError:
            self.rerun_error = ("Failed: the platform could not start it right now (the audit "
                                "log says why); try again")
            return
        self.rerun_entry = entry.entry_id
        self._changes = change_number()
        await self._show(match_topic(match_id), AUDIT)


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


def rerun_panel(h) -> rx.Component:
    """An admin's "Re-run" button, and what the re-run found once a worker has played it."""
    line = MatchState.rerun
    return rx.cond(Session.admin, rx.vstack(
        rx.hstack(
            rx.button("Re-run", size="2", variant="soft", id="rerun",
                      on_click=MatchState.start_rerun(h.match_id)),
            rx.text("play this match again in fresh sandboxes and compare, step by step",
                    size="1", color_scheme="gray"),
            align="center", spacing="3"),
        error_callout(MatchState.rerun_error, id="rerun-error"),
        rx.cond(line, rx.callout(
            rx.text(rx.code(line.text, id="rerun-outcome"), " ",
                    rx.link("(audit entry ", line.entry_id, ")", href=routes.ADMIN)),
            icon="info",
            color_scheme=rx.match(line.outcome, ("running", "gray"), ("failed", "red"),
                                  ("refused", "red"), "blue"),
            width="100%")),
        spacing="2", width="100%"))


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
        rerun_panel(h),
        section("Games", games_table(page)),
        section("Replay", viewer()),
        spacing="4", width="100%"), loaded=page)
