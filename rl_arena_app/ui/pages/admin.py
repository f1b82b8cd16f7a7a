"""`/admin`: the repairs an admin runs (each confirmed, audited, shown) and the audit log, live,
paged and filtered by actor, action and outcome.

The page shows its buttons to anyone who opens it; the handler and the service refuse a
non-admin, and the refusal is audited like any other action. A long action already running on
the same target is not started again: the page says which entry runs it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.environments import env_ids
from rl_arena_app.services.read_models import Account, AuditPage, AuditView
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.cache import change_number, load_or_none
from rl_arena_app.ui.components.common import ago, empty_state, section
from rl_arena_app.ui.components.paging import Paging, Window, paged, window
from rl_arena_app.ui.components.table import header, table
from rl_arena_app.ui.live import AUDIT
from rl_arena_app.ui.pages.base import PageState
from rl_arena_app.ui.session import Session

ALL_ENVS = "__all__"
AUDIT_ROWS = 50
ANY_ACTION, ANY_OUTCOME = "any action", "any outcome"  # the filters' "no filter"
ACTION_CHOICES = (ANY_ACTION, *actions.ACTIONS,
                  *sorted(audit.LOGGED_ACTIONS - set(actions.ACTIONS)), audit.UNKNOWN_ACTION)
OUTCOME_CHOICES = (ANY_OUTCOME, *audit.OUTCOMES)
GROUPS = (
    ("Ratings and caches", "Recompute what is derived from the recorded games.",
     ("rebuild-ratings", "refresh-bt", "rebuild-leaderboard")),
    ("Images and queues", "After a new base image, or when workers failed.",
     ("rebuild-images", "requeue-failed")),
    ("Environments", "Matchmaking, submissions and scoring seasons per environment.",
     ("pause", "resume", "disable", "enable", "new-season")),
    ("Accounts", "By the account's email.", ("revoke-sessions", "grant-admin", "revoke-admin")),
)
OUTCOME_COLOURS = {"ok": "green", "running": "blue", "failed": "red", "refused": "orange"}


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One audit entry as shown."""

    entry_id: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    detail: str
    progress: int  # percent, for running actions
    count: int  # refusals counted on the entry
    last_at: str  # the last of them


@dataclass(frozen=True, slots=True)
class AuditList:
    """A page of the audit log as shown."""

    lines: list[AuditLine]
    window: Window


def audit_list(account: Account, actor: str, action: str, outcome: str,
               offset: int) -> AuditList:
    """A page of the audit log, as the admin ``account`` may see it, filtered ("" or "any ...":
    no filter) (blocking: call it in a thread)."""
    page = actions.audit_log(account, actor=actor.strip() or None,
                                   action=None if action == ANY_ACTION else action,
                                   outcome=None if outcome == ANY_OUTCOME else outcome,
                                   offset=offset, limit=AUDIT_ROWS)
    return _list(page)


def _list(page: AuditPage) -> AuditList:
    return AuditList(lines=[_line(e) for e in page.entries],
                     window=window(page.offset, len(page.entries), page.total))


def _line(entry: AuditView) -> AuditLine:
    return AuditLine(entry_id=entry.entry_id, at=format.iso(entry.at), actor=entry.actor,
                     action=entry.action, target=entry.target or "all", outcome=entry.outcome,
                     detail=entry.detail, progress=round((entry.progress or 0) * 100),
                     count=entry.count, last_at=format.iso(entry.last_at))


class AdminState(Paging, PageState):
    """The admin page; each action checks the session and the service checks the rights."""

    ROUTE = routes.ADMIN
    PAGE_SIZE = AUDIT_ROWS
    env_target: str = ALL_ENVS
    email_target: str = ""
    envs: list[str] = []
    result: str = ""
    failed: bool = False
    actor_filter: str = ""
    action_filter: str = ANY_ACTION
    outcome_filter: str = ANY_OUTCOME
    _changes: int = 0

    @rx.event
    async def open(self):
        """A browser opened the page."""
        self.result, self.failed = "", False
        self.envs = env_ids()
        await self._show(AUDIT)

    @rx.var
    async def log(self) -> AuditList | None:
        """The page of the audit log the filters ask for, newest first (live); None for anyone
        but an admin, or while a filter names nothing."""
        if not self._here():
            return None
        account = await (await self.get_state(Session))._signed_in()  # rights revoked: nothing
        if account is None or not account.is_admin:
            return None
        return await load_or_none(audit_list, account, self.actor_filter, self.action_filter,
                                  self.outcome_filter, self.offset,
                                  version=(await self._live_version(), self._changes))

    @rx.event
    def set_actor_filter(self, value: str):
        self._refilter(actor_filter=value)

    @rx.event
    def set_action_filter(self, value: str):
        self._refilter(action_filter=value)

    @rx.event
    def set_outcome_filter(self, value: str):
        self._refilter(outcome_filter=value)

    @rx.event
    def set_env_target(self, env_id: str):
        self.env_target = env_id

    @rx.event
    def set_email_target(self, email: str):
        self.email_target = email

    @rx.event
    async def perform(self, name: str):
        """Run (or start) an admin action on the chosen target."""
        actor = await (await self.get_state(Session))._signed_in()
        action = actions.ACTIONS.get(name)
        target = ""
        if action is not None and action.target == "account":
            target = self.email_target.strip()
        elif action is not None and action.target and self.env_target != ALL_ENVS:
            target = self.env_target
        try:
            entry = await asyncio.to_thread(actions.perform, actor, name, target)
        except audit.AlreadyRunning as exc:  # a double click: nothing new started
            running = exc.entry
            self.result, self.failed = (
                f"Already running: {running.action} ({running.target or 'everywhere'}) is audit "
                f"entry {running.entry_id}, started by {running.actor}; its progress shows in the "
                "log below, and it can run again once it has finished", False)
        except BadInput as exc:
            self.result, self.failed = f"Refused: {exc}", True
        except InfrastructureError:
            self.result, self.failed = ("Failed: the platform could not do it right now (the "
                                        "audit log below says why); try again", True)
        else:
            self.failed = entry.outcome == "failed"
            self.result = (f"{entry.action} started: its progress shows in the log below"
                           if entry.outcome == "running"
                           else f"{entry.action}: {entry.outcome} — {entry.detail}")
        self._changes = change_number()


def _target_note(action: actions.Action) -> rx.Var | str:
    if action.target == "account":
        return " for " + AdminState.email_target
    if action.target == "":
        return " for the whole arena"
    return " in " + rx.cond(AdminState.env_target == ALL_ENVS, "every environment",
                            AdminState.env_target)


def _action_button(name: str) -> rx.Component:
    action = actions.ACTIONS[name]
    destructive = name in ("disable", "revoke-sessions", "revoke-admin", "rebuild-ratings")
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(action.label, size="2", variant="soft",
                                          color_scheme="red" if destructive else "blue",
                                          id=f"action-{name}")),
        rx.alert_dialog.content(
            rx.alert_dialog.title(action.label),
            rx.alert_dialog.description(action.confirm, " (", _target_note(action), ")"),
            rx.hstack(rx.alert_dialog.cancel(rx.button("Cancel", variant="soft",
                                                       color_scheme="gray")),
                      rx.alert_dialog.action(rx.button(
                          action.label, id=f"confirm-{name}",
                          color_scheme="red" if destructive else "blue",
                          on_click=AdminState.perform(name))),
                      justify="end", spacing="3", margin_top="1em")))


def _group(title: str, note: str, names: tuple[str, ...]) -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading(title, size="3"), rx.text(note, size="1", color_scheme="gray"),
        rx.hstack(*[_action_button(n) for n in names], wrap="wrap", spacing="2"),
        spacing="2", width="100%"), width="100%")


def _outcome(e) -> rx.Component:
    """The outcome's badge; a counted refusal says how many times, and when the last was."""
    badge = rx.badge(e.outcome, color_scheme=rx.match(e.outcome, *OUTCOME_COLOURS.items(),
                                                      "gray"), variant="soft")
    return rx.vstack(badge, rx.cond(e.count > 1, rx.text(
        e.count, " times, the last ", ago(e.last_at), size="1", color_scheme="gray",
        white_space="nowrap", class_name="audit-count")), spacing="1")


def _audit_table(log) -> rx.Component:
    return table(
        [header("When"), header("Who"), header("Action"), header("Target"), header("Outcome"),
         header("Detail")],
        log.lines, lambda e: rx.table.row(
            rx.table.cell(ago(e.at)), rx.table.cell(e.actor), rx.table.cell(rx.code(e.action)),
            rx.table.cell(e.target), rx.table.cell(_outcome(e)),
            rx.table.cell(rx.vstack(
                rx.text(e.detail, size="1"),
                rx.cond(e.outcome == "running", rx.progress(value=e.progress, width="160px")),
                spacing="1")),
            class_name="audit-row"),
        id="audit-log")


def _audit_filters() -> rx.Component:
    s = AdminState
    return rx.hstack(
        rx.input(rx.input.slot(rx.icon("search")), value=s.actor_filter,
                 on_change=s.set_actor_filter, debounce_timeout=300, max_length=320,
                 placeholder="Who (part of an email)", width="16em", id="audit-actor"),
        rx.select(list(ACTION_CHOICES), value=s.action_filter, on_change=s.set_action_filter,
                  id="audit-action"),
        rx.select(list(OUTCOME_CHOICES), value=s.outcome_filter,
                  on_change=s.set_outcome_filter, id="audit-outcome"),
        spacing="3", align="center", wrap="wrap")


def _audit_log() -> rx.Component:
    log = AdminState.log
    return rx.cond(
        log,
        paged(_audit_table(log), log.window, AdminState.previous_page, AdminState.next_page,
              empty_state("No entry matches these filters.")),
        empty_state("These filters name nothing: type plain text in the search box."))


def body() -> rx.Component:
    return rx.vstack(
        rx.heading("Admin", size="8"),
        rx.cond(~Session.admin, rx.callout(
            "Only admins can run these actions: the arena refuses them for anyone else and "
            "records the attempt.", icon="lock", color_scheme="orange", width="100%",
            id="admin-only")),
        rx.hstack(
            rx.vstack(rx.text("Environment", size="2", weight="medium"),
                      rx.select.root(rx.select.trigger(id="admin-env"), rx.select.content(
                          rx.select.item("every environment", value=ALL_ENVS),
                          rx.foreach(AdminState.envs, lambda e: rx.select.item(e, value=e))),
                          value=AdminState.env_target, on_change=AdminState.set_env_target),
                      spacing="1"),
            rx.vstack(rx.text("Account email", size="2", weight="medium"),
                      rx.input(value=AdminState.email_target,
                               on_change=AdminState.set_email_target,
                               placeholder="someone@example.org", id="admin-email"),
                      spacing="1"),
            spacing="4", wrap="wrap"),
        rx.cond(AdminState.result != "", rx.callout(
            AdminState.result, icon=rx.cond(AdminState.failed, "triangle-alert", "circle-check"),
            color_scheme=rx.cond(AdminState.failed, "red", "green"), width="100%",
            id="admin-result")),
        rx.grid(*[_group(*g) for g in GROUPS], columns=rx.breakpoints(initial="1", md="2"),
                spacing="3", width="100%"),
        rx.cond(Session.admin,
                section("Audit log", _audit_log(), aside=_audit_filters()),
                section("Audit log", rx.text("Admins see the audit log here.",
                                             color_scheme="gray"))),
        spacing="4", width="100%")

