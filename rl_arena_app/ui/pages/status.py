"""`/status`: workers, queues, matches and submissions by status, the scheduler, each env."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services.read_models import QueueView, StatusView
from rl_arena_app.services.status import status_view
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import load
from rl_arena_app.ui.components.common import ago, empty_state, section, stat, time_stat
from rl_arena_app.ui.components.table import header, num, table
from rl_arena_app.ui.live import Live
from rl_arena_app.ui.pages.base import PageState


@dataclass(frozen=True, slots=True)
class WorkerLine:
    name: str
    pid: str
    host: str
    state: str
    job: str


@dataclass(frozen=True, slots=True)
class EnvLine:
    env_id: str
    href: str
    matchmaking: str
    tick: int
    last_tick: str
    bt_refreshed: str


@dataclass(frozen=True, slots=True)
class StatusPage:
    redis: str
    scheduler: str
    workers: list[WorkerLine]
    queues: list[QueueView]
    matches: dict[str, int]  # how many by status
    submissions: dict[str, int]
    games: int
    rating_events: int
    envs: list[EnvLine]
    checked: str


def status_page(view: StatusView) -> StatusPage:
    """What the page shows of the platform's status."""
    return StatusPage(
        redis=view.redis, scheduler=view.scheduler or "none active",
        workers=[WorkerLine(w.name, format.DASH if w.pid is None else str(w.pid),
                            w.hostname or format.DASH, w.state, w.current_job or "")
                 for w in view.workers],
        queues=view.queues, matches=view.matches, submissions=view.submissions,
        games=view.games, rating_events=view.rating_events,
        envs=[EnvLine(e.env_id, routes.env(e.env_id), e.matchmaking, e.tick,
                      format.iso(e.last_tick_at), format.iso(e.bt_refreshed_at))
              for e in view.envs],
        checked=format.iso(view.checked_at))


class StatusState(PageState):
    """The status page: reloaded with the health strip (every few seconds when it moves)."""

    ROUTE = routes.STATUS

    @rx.event
    async def open(self):
        await self._show()

    @rx.var
    async def page(self) -> StatusPage | None:
        if not self._here():
            return None
        live = await self.get_state(Live)
        return status_page(await load(status_view, version=hash((live.health, live._version))))


def counts(by_status) -> rx.Component:
    return rx.flex(rx.foreach(by_status, lambda entry: stat(entry[0], entry[1])), spacing="6",
                   wrap="wrap")


def workers_table(page) -> rx.Component:
    return table(
        [header("Name"), header("PID", True), header("Host"), header("State"),
         header("Current job")],
        page.workers, lambda w: rx.table.row(
            rx.table.cell(w.name), num(w.pid), rx.table.cell(w.host),
            rx.table.cell(rx.badge(w.state, color_scheme=rx.match(
                w.state, ("busy", "blue"), ("idle", "green"), ("dead", "red"), "gray"))),
            rx.table.cell(rx.cond(w.job, rx.code(w.job), rx.text(format.DASH))),
            class_name="worker-row"),
        id="workers")


def queues_table(page) -> rx.Component:
    return table(
        [header("Queue"), header("Queued", True), header("Started", True),
         header("Scheduled", True), header("Failed", True)],
        page.queues, lambda q: rx.table.row(
            rx.table.cell(q.name), num(q.queued), num(q.started), num(q.scheduled),
            num(q.failed)),
        id="queues")


def envs_table(page) -> rx.Component:
    return table(
        [header("Environment"), header("Matchmaking"), header("Tick", True),
         header("Last tick"), header("Bradley-Terry refreshed")],
        page.envs, lambda e: rx.table.row(
            rx.table.cell(rx.link(e.env_id, href=e.href)),
            rx.table.cell(e.matchmaking), num(e.tick), rx.table.cell(ago(e.last_tick)),
            rx.table.cell(ago(e.bt_refreshed))),
        id="env-health")


def body() -> rx.Component:
    page = StatusState.page
    return rx.vstack(
        rx.heading("Status", size="8"),
        rx.cond(page, rx.vstack(
            rx.flex(stat("Redis", page.redis), stat("scheduler (lock holder)", page.scheduler),
                    stat("games", page.games), stat("rating events", page.rating_events),
                    time_stat("checked", page.checked),
                    spacing="6", wrap="wrap", id="status-summary"),
            section("Workers", rx.cond(
                page.workers.length() > 0, workers_table(page),
                empty_state("No worker is registered: `rl-arena up` starts them, or run "
                            "`rl-arena worker`."))),
            section("Queues", queues_table(page)),
            section("Matches", counts(page.matches), id="match-counts"),
            section("Submissions", counts(page.submissions), id="submission-counts"),
            section("Environments", envs_table(page)),
            spacing="4", width="100%"), rx.spinner()),
        spacing="4", width="100%")
