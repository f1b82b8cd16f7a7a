"""`/matches`: recent matches, filtered by environment, agent and status, paged."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services.environments import env_ids
from rl_arena_app.services.matches.views import match_page
from rl_arena_app.services.read_models import MatchPage, MatchSummary
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import load, load_or_none
from rl_arena_app.ui.components.common import ago, empty_state, section, status_badge
from rl_arena_app.ui.components.paging import Paging, Window, paged, window
from rl_arena_app.ui.components.sides import SideView, side_cell, side_view
from rl_arena_app.ui.components.table import header, num, table
from rl_arena_app.ui.pages.base import PageState

PAGE_SIZE = 25
ANY = "any"
STATUSES = (ANY, "queued", "running", "finished", "failed")


@dataclass(frozen=True, slots=True)
class MatchRow:
    """A match as listed."""

    match_id: int
    href: str
    env_id: str
    env_href: str
    status: str
    a: SideView
    b: SideView
    forfeits: int
    at: str
    error: str


@dataclass(frozen=True, slots=True)
class MatchList:
    """A page of the list."""

    rows: list[MatchRow]
    window: Window


def match_row(m: MatchSummary) -> MatchRow:
    """A match as listed."""
    return MatchRow(match_id=m.match_id, href=routes.match(m.match_id), env_id=m.env_id,
                    env_href=routes.env(m.env_id), status=m.status, a=side_view(m.a),
                    b=side_view(m.b), forfeits=m.forfeits,
                    at=format.iso(m.finished_at or m.created_at), error=m.error or "")


def match_list(page: MatchPage) -> MatchList:
    """A page of matches as listed."""
    return MatchList(rows=[match_row(m) for m in page.matches],
                     window=window(page.offset, len(page.matches), page.total))


class MatchesState(Paging, PageState):
    """Filters and page of the match list; it follows the arena live."""

    ROUTE = routes.MATCHES
    PAGE_SIZE = PAGE_SIZE
    env_filter: str = ANY
    agent_filter: str = ""
    status_filter: str = ANY

    @rx.event
    async def open(self):
        """A browser opened the list: take the filters from the URL (?env=&agent=&status=)."""
        query = self.router.url.query_parameters
        self.env_filter = query.get("env", ANY)
        self.agent_filter = query.get("agent", "")
        self.status_filter = query.get("status", ANY)
        self.offset = 0
        await self._show()

    @rx.event
    def set_env(self, value: str):
        self._refilter(env_filter=value)

    @rx.event
    def set_status(self, value: str):
        self._refilter(status_filter=value)

    @rx.event
    def clear_agent(self):
        self._refilter(agent_filter="")

    @rx.var
    async def envs(self) -> list[str]:
        """The choices of the environment filter."""
        return [ANY, *await load(env_ids)]

    @rx.var
    async def listing(self) -> MatchList | None:
        """The page of matches, or None while a filter names nothing."""
        if not self._here() or not (self.agent_filter.isdigit() or not self.agent_filter):
            return None
        page = await load_or_none(match_page, env_id=None if self.env_filter == ANY
                                  else self.env_filter,
                                  agent_id=int(self.agent_filter) if self.agent_filter else None,
                                  status=None if self.status_filter == ANY else self.status_filter,
                                  offset=self.offset, limit=PAGE_SIZE,
                                  version=await self._live_version())
        return None if page is None else match_list(page)


def matches_table(listing) -> rx.Component:
    return table(
        [header("Match"), header("Environment"), header("Player a"), header("Player b"),
         header("Score", True), header("Status"), header("Forfeits", True), header("When")],
        listing.rows, lambda m: rx.table.row(
            rx.table.cell(rx.link("#", m.match_id, href=m.href)),
            rx.table.cell(rx.link(m.env_id, href=m.env_href, color_scheme="gray")),
            side_cell(m.a), side_cell(m.b),
            num(rx.cond(m.status == "finished", m.a.points + "-" + m.b.points, "")),
            rx.table.cell(rx.tooltip(status_badge(m.status), content=rx.cond(
                m.error != "", m.error, m.status))),
            num(m.forfeits), rx.table.cell(ago(m.at)), class_name="match-row"),
        id="matches")


def filters() -> rx.Component:
    s = MatchesState
    return rx.hstack(
        rx.select(s.envs, value=s.env_filter, on_change=s.set_env, id="filter-env"),
        rx.select(list(STATUSES), value=s.status_filter, on_change=s.set_status,
                  id="filter-status"),
        rx.cond(s.agent_filter != "", rx.badge(
            "agent ", s.agent_filter,
            rx.icon("x", size=12, on_click=s.clear_agent, cursor="pointer"),
            size="2", id="filter-agent")),
        spacing="3", align="center", wrap="wrap")


def body() -> rx.Component:
    listing = MatchesState.listing
    return rx.vstack(
        rx.heading("Matches", size="8"),
        section("Recent matches", rx.cond(
            listing,
            paged(matches_table(listing), listing.window, MatchesState.previous_page,
                  MatchesState.next_page,
                  empty_state("No match matches these filters yet: the scheduler makes "
                              "matches between ready agents every few seconds.")),
            empty_state("These filters name nothing: pick an environment and status from the "
                        "lists.")), aside=filters()),
        spacing="4", width="100%")
