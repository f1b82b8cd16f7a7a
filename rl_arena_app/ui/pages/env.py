"""`/envs/{env_id}`: the leaderboard (sorted, searched, paged on the server), its charts, and
how to write an agent for the environment."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import reflex as rx

from rl_arena_app.errors import BadInput
from rl_arena_app.services.catalog import env_card, env_guide
from rl_arena_app.services.ratings.head_to_head import head_to_head
from rl_arena_app.services.ratings.leaderboard import leaderboard_page
from rl_arena_app.services.read_models import EnvGuide, LeaderboardPage, LeaderboardRow
from rl_arena_app.settings import get_settings
from rl_arena_app.ui import charts, format, routes
from rl_arena_app.ui.cache import load, load_or_none
from rl_arena_app.ui.components.common import breadcrumb, detail_frame, empty_state, section
from rl_arena_app.ui.components.paging import Paging, Window, paged, window
from rl_arena_app.ui.components.table import header, num, sortable_header, table
from rl_arena_app.ui.live import env_topic
from rl_arena_app.ui.pages.base import PageState

PAGE_SIZE = 50
CHART_TOP = 30
HEATMAP_TOP = 15


@dataclass(frozen=True, slots=True)
class RowView:
    """A leaderboard row as shown."""

    rank: int
    name: str
    href: str
    owner: str
    version: int
    algorithm: str
    elo: str
    provisional: bool
    bt: str
    interval: str
    rank_ub: str
    games: int
    record: str  # W/D/L
    mean: str
    mean_interval: str
    episodes: str


@dataclass(frozen=True, slots=True)
class BoardView:
    """The leaderboard part of the page."""

    kind: str
    rows: list[RowView]
    window: Window
    provisional_games: int
    interval_s: str  # the matchmaking interval, for the empty state


def row_view(row: LeaderboardRow) -> RowView:
    """What a leaderboard row shows."""
    return RowView(
        rank=row.rank, name=row.name, href=routes.agent(row.agent_id), owner=row.owner_name,
        version=row.version, algorithm=row.algorithm or format.DASH,
        elo=format.rating(row.elo), provisional=row.provisional,
        bt=format.rating(row.bt_rating), interval=format.interval(row.bt_low, row.bt_high),
        rank_ub=format.DASH if row.rank_ub is None else str(row.rank_ub), games=row.games,
        record=f"{row.wins}/{row.draws}/{row.losses}", mean=format.decimal(row.score_mean, 2),
        mean_interval=format.interval(row.score_low, row.score_high, 1),
        episodes=format.DASH if row.episodes is None else str(row.episodes))


def board_view(page: LeaderboardPage, interval_s: float) -> BoardView:
    """What the leaderboard part shows of a page."""
    return BoardView(
        kind=page.kind, rows=[row_view(r) for r in page.rows],
        window=window(page.offset, len(page.rows), page.total),
        provisional_games=page.provisional_games, interval_s=f"{interval_s:g}")


class EnvState(Paging, PageState):
    """Sort, search and page of one environment's leaderboard; its data follows the env live."""

    ROUTE = routes.ENV
    PAGE_SIZE = PAGE_SIZE
    sort: str = "rank"
    descending: bool = False
    search: str = ""
    missing: str = ""  # why there is no such environment

    @rx.event
    async def open(self):
        """A browser opened the page: start from the top of this environment's board."""
        self.sort, self.descending, self.search, self.offset = "rank", False, "", 0
        try:
            await load(env_card, self.env_id)
            self.missing = ""
        except BadInput as exc:
            self.missing = str(exc)
        await self._show(env_topic(self.env_id))

    @rx.event
    def sort_by(self, key: str):
        """Sort by a column; the same column again reverses the order."""
        if key == self.sort:
            self._refilter(descending=not self.descending)
        else:
            self._refilter(sort=key, descending=key in ("elo", "bt", "games", "wins", "losses"))

    @rx.event
    def set_search(self, text: str):
        """Show the agents whose name, owner or algorithm contains ``text``."""
        self._refilter(search=text[:100])

    @rx.var
    async def board(self) -> BoardView | None:
        """The page of the leaderboard to show."""
        if not self._here() or self.missing:
            return None
        page = await load_or_none(leaderboard_page, self.env_id, sort=self.sort,
                                  descending=self.descending, search=self.search,
                                  offset=self.offset, limit=PAGE_SIZE,
                                  version=await self._live_version())
        return None if page is None else board_view(page, get_settings().matchmaking_interval_s)

    @rx.var
    async def bt_chart(self) -> go.Figure:
        """Bradley-Terry estimates with their intervals, top 30."""
        if not self._here() or self.missing:
            return charts.empty_figure("")
        page = await load_or_none(leaderboard_page, self.env_id, limit=CHART_TOP,
                                  version=await self._live_version())
        if page is None:
            return charts.empty_figure("")
        return charts.bt_intervals_figure(charts.bt_frame_of_rows(page.rows))

    @rx.var
    async def heatmaps(self) -> list[go.Figure]:
        """Pairwise win rates and games played between the top 15."""
        if not self._here() or self.missing:
            return []
        h2h = await load_or_none(head_to_head, self.env_id, HEATMAP_TOP,
                                 version=await self._live_version())
        if h2h is None:
            return []
        rates, games = charts.head_to_head_frames(h2h)
        return [charts.win_rate_heatmap(rates), charts.games_heatmap(games)]

    @rx.var
    async def guide(self) -> EnvGuide | None:
        """How to write an agent for this environment."""
        if not self._here() or self.missing:
            return None
        return await load_or_none(env_guide, self.env_id)


SORT = (EnvState.sort, EnvState.descending, EnvState.sort_by)


def _leaderboard(headers: list[rx.Component], rows, row) -> rx.Component:
    """The board's table: rank, agent, owner, version and algorithm first, then the env kind's
    columns."""
    return table([sortable_header("#", "rank", *SORT, numeric=True),
                  sortable_header("Agent", "name", *SORT),
                  sortable_header("Owner", "owner", *SORT),
                  sortable_header("v", "version", *SORT, numeric=True),
                  header("Algorithm", tooltip="As its submitter named it"),
                  *headers], rows, row, id="leaderboard")


def _algorithm(r) -> rx.Component:
    return rx.table.cell(r.algorithm, class_name="leaderboard-algorithm")


def duel_table(board) -> rx.Component:
    return _leaderboard([
        sortable_header("Elo", "elo", *SORT, numeric=True,
                        tooltip="Elo after every rated game; ? while provisional"),
        sortable_header("Bradley-Terry", "bt", *SORT, numeric=True,
                        tooltip="Strength fitted on every game of the environment"),
        header("95% interval", numeric=True),
        sortable_header("Rank (UB)", "rank_ub", *SORT, numeric=True,
                        tooltip="The best rank the intervals allow: 1 + the agents whose "
                                "interval lies wholly above this one's"),
        sortable_header("Games", "games", *SORT, numeric=True),
        header("W/D/L", numeric=True)],
        board.rows, lambda r: rx.table.row(
            num(r.rank),
            rx.table.cell(rx.hstack(
                rx.link(r.name, href=r.href, weight="medium"),
                rx.cond(r.provisional, rx.tooltip(
                    rx.badge("provisional", color_scheme="amber", variant="soft", size="1"),
                    content=f"fewer than {board.provisional_games} rated games")),
                spacing="2", align="center")),
            rx.table.cell(r.owner),
            num(r.version), _algorithm(r), num(r.elo), num(r.bt), num(r.interval), num(r.rank_ub),
            num(r.games), num(r.record),
            class_name="leaderboard-row"))


def solo_table(board) -> rx.Component:
    return _leaderboard([
        header("Mean return", numeric=True),
        header("95% interval", numeric=True,
               tooltip="Student's t interval of the mean over the scored episodes"),
        header("Episodes", numeric=True)],
        board.rows, lambda r: rx.table.row(
            num(r.rank), rx.table.cell(rx.link(r.name, href=r.href, weight="medium")),
            rx.table.cell(r.owner), num(r.version), _algorithm(r), num(r.mean),
            num(r.mean_interval), num(r.episodes), class_name="leaderboard-row"))


def leaderboard_section() -> rx.Component:
    board = EnvState.board
    search = rx.input(rx.input.slot(rx.icon("search")),
                      placeholder="Search agent, owner or algorithm", value=EnvState.search,
                      on_change=EnvState.set_search,
                      debounce_timeout=300, max_length=100, width="18em", id="search")
    return section(
        "Leaderboard",
        rx.cond(
            board,
            rx.vstack(
                paged(rx.cond(board.kind == "duel", duel_table(board), solo_table(board)),
                      board.window, EnvState.previous_page, EnvState.next_page,
                      rx.cond(EnvState.search != "",
                              empty_state("No agent, owner or algorithm matches that search."),
                              empty_state(rx.cond(
                                  board.kind == "duel",
                                  "No games yet: the scheduler pairs ready agents every "
                                  + board.interval_s + " s, and a new submission plays at "
                                  "once.",
                                  "No scored submissions yet: a submission is scored on the "
                                  "season's secret scoring seeds as soon as it is built.")))),
                width="100%"),
            rx.spinner()),
        id="leaderboard-section", aside=search)


def charts_section() -> rx.Component:
    return rx.cond(
        EnvState.board.kind == "duel",
        section(
            "Ratings",
            rx.box(rx.plotly(data=EnvState.bt_chart, width="100%"), width="100%", id="bt-chart"),
            rx.grid(rx.foreach(EnvState.heatmaps,
                               lambda fig: rx.plotly(data=fig, width="100%")),
                    columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%",
                    id="heatmaps"),
            id="charts"))


def entries_table(rows, first: str) -> rx.Component:
    return table([header(first), header("name"), header("values"), header("meaning")],
                 rows, lambda e: rx.table.row(
                     rx.table.cell(rx.code(e.key)), rx.table.cell(e.name),
                     rx.table.cell(e["values"]), rx.table.cell(rx.markdown(e.meaning))),
                 variant="ghost")


def guide_section() -> rx.Component:
    g = EnvState.guide
    return rx.cond(g, section(
        "Write an agent",
        rx.markdown(g.contract),
        rx.heading("Observation", size="3"),
        rx.text("shape ", rx.code(g.observation_shape), ", dtype ", rx.code(g.observation_dtype)),
        rx.markdown(g.observation),
        entries_table(g.components, "key"),
        rx.heading("Action", size="3"),
        rx.markdown(g.action),
        entries_table(g.actions, "action"),
        rx.heading("Info", size="3"),
        entries_table(g.info, "key"),
        rx.heading("Scoring and limits", size="3"),
        rx.markdown(g.scoring),
        entries_table(g.limits, "setting"),
        rx.foreach(g.tips, lambda tip: rx.markdown("- " + tip)),
        rx.cond(g.kaggle, rx.fragment(rx.heading("Kaggle form", size="3"),
                                      rx.markdown(g.kaggle, id="kaggle-form"))),
        rx.heading("ONNX form", size="3"),
        rx.markdown(g.onnx, id="onnx-form"),
        rx.heading("Starter agent", size="3"),
        rx.text(g.starter_about),
        rx.hstack(rx.button(rx.icon("download"), "Download agent.py",
                            on_click=rx.download(data=g.starter_source, filename="agent.py"),
                            id="download-starter"),
                  rx.code(g.starter_command), align="center", wrap="wrap"),
        rx.code_block(g.starter_source, language="python", show_line_numbers=True,
                      width="100%", id="starter-source"),
        rx.text("Try it locally, then submit it:"),
        rx.code_block(g.play_command, language="bash", width="100%"),
        id="guide"))


def body() -> rx.Component:
    return detail_frame("Environment", EnvState.missing, rx.vstack(
        breadcrumb(("Arena", routes.OVERVIEW), open_end=True),
        rx.heading(EnvState.env_id, size="8", id="env-title"),
        leaderboard_section(),
        charts_section(),
        guide_section(),
        spacing="4", width="100%"))
