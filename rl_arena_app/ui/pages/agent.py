"""`/agents/{agent_id}`: an agent's rating history, record, versions and recent matches."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import reflex as rx

from rl_arena_app.services.ids import parse_id
from rl_arena_app.services.read_models import AgentView, MatchSummary
from rl_arena_app.services.submissions.agents import agent_view, rating_history
from rl_arena_app.ui import charts, format, routes
from rl_arena_app.ui.cache import load_or_none
from rl_arena_app.ui.components.common import (
    ago,
    breadcrumb,
    detail_frame,
    empty_state,
    section,
    stat,
    status_badge,
)
from rl_arena_app.ui.components.table import header, num, table
from rl_arena_app.ui.components.version_card import VersionCard, to_version_card, version_card
from rl_arena_app.ui.live import agent_topic
from rl_arena_app.ui.pages.base import PageState


@dataclass(frozen=True, slots=True)
class OpponentLine:
    """The record against one opponent."""

    name: str
    href: str
    games: int
    record: str
    expected: str
    actual: str


@dataclass(frozen=True, slots=True)
class MatchLine:
    """A recent match from the agent's side."""

    match_id: int
    href: str
    opponent: str
    opponent_href: str
    status: str
    result: str
    elo_change: str
    at: str


@dataclass(frozen=True, slots=True)
class AgentHeader:
    """The top of the page."""

    name: str
    env_id: str
    env_href: str
    kind: str
    owner: str
    current: str
    elo: str
    bt: str
    record: str
    score: str
    has_current: bool
    matches_href: str


@dataclass(frozen=True, slots=True)
class AgentPage:
    """Everything the page shows of an agent but its chart."""

    header: AgentHeader
    versions: list[VersionCard]
    opponents: list[OpponentLine]
    forfeits: list[str]
    matches: list[MatchLine]


def _match_line(m: MatchSummary, agent_id: int) -> MatchLine:
    mine, theirs = (m.a, m.b) if m.a.agent.agent_id == agent_id else (m.b, m.a)
    if m.status != "finished":
        result = m.status
    else:
        won = (mine.points or 0) > (theirs.points or 0)
        lost = (mine.points or 0) < (theirs.points or 0)
        outcome = "won" if won else "lost" if lost else "drew"
        result = f"{outcome} {format.points(mine.points)}-{format.points(theirs.points)}"
    return MatchLine(
        match_id=m.match_id, href=routes.match(m.match_id),
        opponent=f"{theirs.agent.name} v{theirs.agent.version}",
        opponent_href=routes.agent(theirs.agent.agent_id), status=m.status, result=result,
        elo_change=format.change(mine.elo_before, mine.elo_after),
        at=format.iso(m.finished_at or m.created_at))


def agent_page(view: AgentView) -> AgentPage:
    """What the page shows of an agent."""
    current = view.current
    header = AgentHeader(
        name=view.name, env_id=view.env_id, env_href=routes.env(view.env_id), kind=view.kind,
        owner=view.owner_name, current=f"v{current.version}" if current else "none ready",
        elo=format.rating(current.elo) if current else format.DASH,
        bt=(f"{format.rating(current.bt_rating)} {format.interval(current.bt_low, current.bt_high)}"
            if current and current.bt_rating is not None else format.DASH),
        record=f"{current.wins}/{current.draws}/{current.losses}" if current else format.DASH,
        score=format.decimal(current.score_mean, 2) if current else format.DASH,
        has_current=current is not None, matches_href=routes.matches(view.agent_id))
    return AgentPage(
        header=header, versions=[to_version_card(v, view.kind) for v in view.versions],
        opponents=[OpponentLine(
            name=f"{o.opponent.name}", href=routes.agent(o.opponent.agent_id), games=o.games,
            record=f"{o.wins}/{o.draws}/{o.losses}", expected=format.decimal(o.expected_score),
            actual=format.decimal(o.actual_score)) for o in view.opponents],
        forfeits=[f"{f.reason}: {f.count}" for f in view.forfeits],
        matches=[_match_line(m, view.agent_id) for m in view.recent_matches])


class AgentState(PageState):
    """One agent's page; its data follows the agent live."""

    ROUTE = routes.AGENT
    missing: str = ""
    by_time: bool = False  # the chart's x axis: game number or time

    @rx.event
    async def open(self):
        """A browser opened the page."""
        self.missing = ""
        agent_id = parse_id(self.agent_id)
        if agent_id is None or await load_or_none(agent_view, agent_id) is None:
            self.missing = f"There is no agent {self.agent_id!r}: agents are listed on the " \
                           "leaderboards."
        await self._show(agent_topic(self.agent_id))

    @rx.event
    def set_axis(self, value: str | list[str]):
        """Draw the history over time, or over games."""
        self.by_time = value == "time"

    @rx.var
    async def page(self) -> AgentPage | None:
        """The agent's header, versions, records and matches."""
        agent_id = parse_id(self.agent_id)
        if not self._here() or self.missing or agent_id is None:
            return None
        view = await load_or_none(agent_view, agent_id, version=await self._live_version())
        return None if view is None else agent_page(view)

    @rx.var
    async def chart(self) -> go.Figure:
        """Elo after each game (one trace per version) and the Bradley-Terry band."""
        agent_id = parse_id(self.agent_id)
        if not self._here() or self.missing or agent_id is None:
            return charts.empty_figure("")
        history = await load_or_none(rating_history, agent_id,
                                     version=await self._live_version())
        if history is None:
            return charts.empty_figure("")
        return charts.rating_history_figure(charts.elo_frame(history), charts.bt_frame(history),
                                            x="at" if self.by_time else "game_number")


def opponents_table(page) -> rx.Component:
    return table(
        [header("Opponent"), header("Games", True), header("W/D/L", True),
         header("Expected score", True, "Sum of the Elo expectations before each game"),
         header("Actual score", True)],
        page.opponents, lambda o: rx.table.row(
            rx.table.cell(rx.link(o.name, href=o.href)), num(o.games), num(o.record),
            num(o.expected), num(o.actual)),
        id="opponents")


def matches_table(page) -> rx.Component:
    return table(
        [header("Match"), header("Opponent"), header("Result"), header("Elo", True),
         header("When")],
        page.matches, lambda m: rx.table.row(
            rx.table.cell(rx.link("#", m.match_id, href=m.href)),
            rx.table.cell(rx.link(m.opponent, href=m.opponent_href)),
            rx.table.cell(rx.cond(m.status == "finished", m.result, status_badge(m.status))),
            num(m.elo_change), rx.table.cell(ago(m.at))),
        id="recent-matches")


def body() -> rx.Component:
    page = AgentState.page
    h = page.header
    return detail_frame("Agent", AgentState.missing, rx.vstack(
        breadcrumb(("Arena", routes.OVERVIEW), (h.env_id, h.env_href)),
        rx.hstack(rx.heading(h.name, size="8", id="agent-title"),
                  rx.badge(h.current, size="2"), align="center", wrap="wrap"),
        rx.text("by ", h.owner, color_scheme="gray"),
        rx.hstack(
            rx.cond(h.kind == "duel",
                    rx.hstack(stat("Elo", h.elo, id="agent-elo"),
                              stat("Bradley-Terry (95%)", h.bt),
                              stat("W/D/L", h.record), spacing="6"),
                    stat("mean return", h.score)),
            spacing="6", wrap="wrap"),
        rx.cond(h.kind == "duel", section(
            "Rating history",
            rx.box(rx.plotly(data=AgentState.chart, width="100%"), width="100%",
                   id="rating-chart"),
            aside=rx.segmented_control.root(
                rx.segmented_control.item("games", value="games"),
                rx.segmented_control.item("time", value="time"),
                value=rx.cond(AgentState.by_time, "time", "games"),
                on_change=AgentState.set_axis, size="1"))),
        rx.cond(h.kind == "duel", section(
            "Record against each opponent",
            rx.cond(page.opponents.length() > 0, opponents_table(page),
                    empty_state("No rated games yet.")),
            rx.cond(page.forfeits.length() > 0, rx.hstack(
                rx.text("Forfeits:", size="2"),
                rx.foreach(page.forfeits, lambda f: rx.badge(f, color_scheme="red")),
                wrap="wrap", id="forfeits")))),
        rx.cond(h.kind == "duel", section(
            "Recent matches",
            rx.cond(page.matches.length() > 0, matches_table(page),
                    empty_state("No matches yet: a ready version is paired at once.")),
            aside=rx.link("all matches →", href=h.matches_href, size="2"))),
        section("Versions", rx.vstack(rx.foreach(page.versions, version_card),
                                      width="100%", spacing="3"), id="versions"),
        spacing="4", width="100%"), loaded=page)
