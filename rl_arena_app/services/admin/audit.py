"""The audit log: who did what to the arena, when, and how it went.

What it stores is cleaned (``core.text.printable``) and cut to its column, and only the actions
it knows keep their name: any other is stored as "unknown-action", the name asked for in the
detail. Refusals are counted, not listed: those of one actor and action within one window of
``REFUSAL_WINDOW`` are one row whose count and last time grow, so that being refused cannot push
the real entries out of sight. A long action runs once per action and target at a time. Both
rules are unique indexes written to with one upsert each, so parallel requests of any number of
processes neither add rows nor lose counts, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from rl_arena_app.core.text import describe_character, first_control_character, printable
from rl_arena_app.db.models import AuditEntry, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, Conflict
from rl_arena_app.services import events
from rl_arena_app.services.ids import in_range
from rl_arena_app.services.read_models import Account, AuditPage, AuditView

CLI = "cli"  # what a shell on the server does
ANONYMOUS = "anonymous"  # rows written before refused logins named who tried
UNKNOWN_ACTION = "unknown-action"
RUNNING, REFUSED = "running", "refused"
OUTCOMES = (RUNNING, "ok", "failed", REFUSED)
# Every action the log knows: the admin actions (admin.actions.ACTIONS, which a test
# holds to this list) and what other services audit.
LOGGED_ACTIONS = frozenset({
    "rebuild-ratings", "refresh-bt", "rebuild-leaderboard", "rebuild-images", "requeue-failed",
    "pause", "resume", "disable", "enable", "revoke-sessions", "grant-admin", "revoke-admin",
    "rerun-match", "new-season", "login", "retire-agent"})
KNOWN = LOGGED_ACTIONS | {UNKNOWN_ACTION}
# Refusals of one actor and action within a window are one row: a flood at the API's rate limit
# is a handful of rows an hour, and a person's repeated mistakes stay readable as one.
REFUSAL_WINDOW = timedelta(minutes=10)
MAX_PAGE = 500
MAX_OFFSET = 2**31 - 1
_COLUMNS = AuditEntry.__table__.c
_RUNNING_ROW = _COLUMNS.outcome == RUNNING
_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert,
                                           "sqlite": sqlite.insert}


class AlreadyRunning(Conflict):
    """The same long action on the same target is running: ``entry`` is that one."""

    def __init__(self, entry: AuditView) -> None:
        super().__init__(f"{entry.action} ({entry.target or 'everywhere'}) is already running as "
                         f"audit entry {entry.entry_id}, started by {entry.actor}: follow that "
                         "entry; it can run again once it has finished")
        self.entry = entry


def _view(entry: AuditEntry) -> AuditView:
    """An entry as read (cleaned again: rows stored before the log cleaned its text)."""
    return AuditView(entry_id=entry.id, at=entry.at, actor=printable(entry.actor),
                     action=printable(entry.action), target=printable(entry.target),
                     outcome=entry.outcome, detail=printable(entry.detail),
                     progress=entry.progress, finished_at=entry.finished_at, count=entry.count,
                     last_at=entry.last_at)


def _clean(text: str, column: str) -> str:
    """``text`` printable on one line, cut to the column's size."""
    return printable(text).strip()[:_COLUMNS[column].type.length]


def _row(actor: Account | str | None, action: str, target: str, outcome: str,
         detail: str) -> dict[str, Any]:
    """The cleaned columns of an entry; an unknown action is stored under UNKNOWN_ACTION."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if actor is None or isinstance(actor, str):
        actor_id, who = None, _clean(actor or ANONYMOUS, "actor")
    else:
        actor_id, who = actor.user_id, actor.email
    if action not in KNOWN:
        asked = repr(_clean(action, "action"))
        action, detail = UNKNOWN_ACTION, f"{asked}: {detail}" if detail else asked
    return {"actor_id": actor_id, "actor": who, "action": action,
            "target": _clean(target, "target"), "outcome": outcome,
            "detail": _clean(detail, "detail")}


def _upsert(*, session: Session):
    """The INSERT ... ON CONFLICT construct of the session's database."""
    return _INSERTS[session.get_bind().dialect.name](AuditEntry)


def window_start(at: datetime) -> datetime:
    """The start of the refusal window ``at`` falls in (windows are aligned on the epoch)."""
    seconds = REFUSAL_WINDOW.total_seconds()
    return datetime.fromtimestamp(at.timestamp() // seconds * seconds, UTC)


def record(actor: Account | str | None, action: str, target: str = "", outcome: str = "ok",
           detail: str = "") -> AuditView:
    """Write an entry (``actor``: an account, "cli", a refused login's "provider:subject", or
    None for anonymous) and announce it; a refusal is counted on its window's row."""
    if outcome == RUNNING:
        return start(actor, action, target, detail)
    row = _row(actor, action, target, outcome, detail)
    now = utcnow()
    with session_scope() as session:
        if outcome == REFUSED:
            entry_id, count = _count_refusal(row, now, session=session)
        else:
            entry = AuditEntry(at=now, finished_at=now, **row)
            session.add(entry)
            session.flush()
            entry_id, count = entry.id, 1
        view = _view(session.get(AuditEntry, entry_id))
    if count & (count - 1) == 0:  # the 1st, 2nd, 4th, 8th...: a flood is not a flood of events
        events.publish("audit", entry_id=entry_id, action=view.action, outcome=outcome)
    return view


def _count_refusal(row: dict[str, Any], now: datetime, *, session: Session) -> tuple[int, int]:
    """Add a refusal to its actor's, action's and window's row (made by the first); the row's
    id and count."""
    insert = _upsert(session=session).values(at=now, finished_at=now, last_at=now,
                                             window_start=window_start(now), count=1, **row)
    counted = insert.on_conflict_do_update(
        index_elements=[_COLUMNS.actor, _COLUMNS.action, _COLUMNS.window_start],
        set_={"count": _COLUMNS.count + 1, "last_at": insert.excluded.last_at},
    ).returning(_COLUMNS.id, _COLUMNS.count)
    entry_id, count = session.execute(counted).one()
    return entry_id, count


def refused_login(provider: str, subject: str, email: str | None, verified: bool,
                  reason: str) -> AuditView:
    """A login the arena refused, under the identity the provider named ("provider:subject":
    nobody logged in, and an email nobody verified is nobody's account), counted like any
    refusal."""
    named = f"{email} ({'verified' if verified else 'not verified'})" if email else "no email"
    return record(f"{provider}:{subject or '?'}", "login", provider, REFUSED,
                  f"{provider} named {named}: {reason}")


def start(actor: Account | str | None, action: str, target: str = "",
          detail: str = "queued") -> AuditView:
    """Record a long action as running and announce it; AlreadyRunning (with that entry) when
    the same action on the same target is running."""
    row = _row(actor, action, target, RUNNING, detail)
    for _ in range(3):  # the running one may end between the insert and the look at it
        with session_scope() as session:
            started = session.execute(
                _upsert(session=session).values(at=utcnow(), progress=0.0, **row)
                .on_conflict_do_nothing(index_elements=[_COLUMNS.action, _COLUMNS.target],
                                        index_where=_RUNNING_ROW)
                .returning(_COLUMNS.id)).scalar_one_or_none()
            if started is None:
                _refuse_if_running(row["action"], row["target"], session=session)
                continue
            view = _view(session.get(AuditEntry, started))
        events.publish("audit", entry_id=view.entry_id, action=view.action, outcome=RUNNING)
        return view
    raise Conflict(f"{action} ({target or 'everywhere'}) is being started and stopped right "
                   "now: try again")


def _refuse_if_running(action: str, target: str, *, session: Session) -> None:
    running = session.exec(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.target == target,
        AuditEntry.outcome == RUNNING)).first()
    if running is not None:
        raise AlreadyRunning(_view(running))


def progress(entry_id: int, fraction: float, detail: str = "") -> None:
    """A long action's progress (0..1) and what it is doing now."""
    with session_scope() as session:
        entry = session.get(AuditEntry, entry_id)
        entry.progress = max(0.0, min(1.0, fraction))
        if detail:
            entry.detail = _clean(detail, "detail")
        session.add(entry)
    events.publish("audit", entry_id=entry_id, progress=fraction)


def finish(entry_id: int, outcome: str, detail: str) -> AuditView:
    """A long action ended (ok or failed): the same action and target may run again."""
    with session_scope() as session:
        entry = session.get(AuditEntry, entry_id)
        entry.outcome, entry.finished_at = outcome, utcnow()
        entry.detail = _clean(detail, "detail")
        entry.progress = 1.0 if outcome == "ok" else entry.progress
        session.add(entry)
        session.flush()
        view = _view(entry)
    events.publish("audit", entry_id=entry_id, outcome=outcome)
    return view


def entry(entry_id: int) -> AuditView | None:
    with session_scope() as session:
        found = session.get(AuditEntry, entry_id) if in_range(entry_id) else None
        return None if found is None else _view(found)


def recent(limit: int = 50) -> list[AuditView]:
    """The newest entries, newest first."""
    return page(limit=max(1, min(limit, MAX_PAGE))).entries


def page(*, actor: str | None = None, action: str | None = None, outcome: str | None = None,
         offset: int = 0, limit: int = 50) -> AuditPage:
    """Entries, newest first: those whose actor contains ``actor`` (any case), of ``action``
    and with ``outcome``; BadInput naming what to give for a filter that cannot match."""
    filters = [*_actor_filter(actor or None)]
    if action:
        if action not in KNOWN:
            raise BadInput(f"unknown action {_clean(action, 'action')!r}: use one of "
                           f"{', '.join(sorted(KNOWN))}")
        filters.append(AuditEntry.action == action)
    if outcome:
        if outcome not in OUTCOMES:
            raise BadInput(f"unknown outcome {_clean(outcome, 'outcome')!r}: use one of "
                           f"{', '.join(OUTCOMES)}")
        filters.append(AuditEntry.outcome == outcome)
    if not 0 <= offset <= MAX_OFFSET or not 1 <= limit <= MAX_PAGE:
        raise BadInput(f"page out of range: 0 <= offset <= {MAX_OFFSET} and "
                       f"1 <= limit <= {MAX_PAGE}")
    with session_scope() as session:
        total = session.exec(select(func.count()).select_from(AuditEntry).where(*filters)).one()
        found = session.exec(select(AuditEntry).where(*filters).order_by(AuditEntry.id.desc())
                             .offset(offset).limit(limit)).all()
        entries = [_view(e) for e in found]
    return AuditPage(entries=entries, total=total, offset=offset, limit=limit,
                     actor=actor or None, action=action or None, outcome=outcome or None)


def _actor_filter(actor: str | None) -> list:
    if actor is None:
        return []
    if (char := first_control_character(actor)) is not None:
        raise BadInput(f"the actor filter has {describe_character(char)}: type plain text")
    if len(actor) > _COLUMNS.actor.type.length:
        raise BadInput(f"the actor filter is longer than an actor can be "
                       f"({_COLUMNS.actor.type.length} characters)")
    return [AuditEntry.actor.icontains(actor.strip(), autoescape=True)]


def running_ids() -> list[int]:
    """The entries of long actions that have not finished, oldest first."""
    with session_scope() as session:
        return list(session.exec(select(AuditEntry.id).where(AuditEntry.outcome == RUNNING)
                                 .order_by(AuditEntry.id)).all())
