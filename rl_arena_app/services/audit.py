"""The audit log: who did what to the arena, when, and how it went."""

from __future__ import annotations

from sqlmodel import select

from rl_arena_app.db.models import AuditEntry, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import events
from rl_arena_app.services.read_models import Account, AuditView

CLI = "cli"  # what a shell on the server does
ANONYMOUS = "anonymous"


def _view(entry: AuditEntry) -> AuditView:
    return AuditView(entry_id=entry.id, at=entry.at, actor=entry.actor, action=entry.action,
                     target=entry.target, outcome=entry.outcome, detail=entry.detail,
                     progress=entry.progress, finished_at=entry.finished_at)


def record(actor: Account | str | None, action: str, target: str = "", outcome: str = "ok",
           detail: str = "") -> AuditView:
    """Write an entry (``actor``: an account, "cli", or None for anonymous) and announce it."""
    if isinstance(actor, str) or actor is None:
        actor_id, who = None, actor or ANONYMOUS
    else:
        actor_id, who = actor.user_id, actor.email
    now = utcnow()
    with session_scope() as session:
        entry = AuditEntry(at=now, actor_id=actor_id, actor=who, action=action,
                           target=target[:200], outcome=outcome, detail=detail[:2000],
                           progress=0.0 if outcome == "running" else None,
                           finished_at=None if outcome == "running" else now)
        session.add(entry)
        session.flush()
        view = _view(entry)
    events.publish("audit", entry_id=view.entry_id, action=action, outcome=outcome)
    return view


def progress(entry_id: int, fraction: float, detail: str = "") -> None:
    """A long action's progress (0..1) and what it is doing now."""
    with session_scope() as session:
        entry = session.get(AuditEntry, entry_id)
        entry.progress = max(0.0, min(1.0, fraction))
        if detail:
            entry.detail = detail[:2000]
        session.add(entry)
    events.publish("audit", entry_id=entry_id, progress=fraction)


def finish(entry_id: int, outcome: str, detail: str) -> AuditView:
    """A long action ended (ok or failed)."""
    with session_scope() as session:
        entry = session.get(AuditEntry, entry_id)
        entry.outcome, entry.detail, entry.finished_at = outcome, detail[:2000], utcnow()
        entry.progress = 1.0 if outcome == "ok" else entry.progress
        session.add(entry)
        session.flush()
        view = _view(entry)
    events.publish("audit", entry_id=entry_id, outcome=outcome)
    return view


def entry(entry_id: int) -> AuditView | None:
    with session_scope() as session:
        found = session.get(AuditEntry, entry_id)
        return None if found is None else _view(found)


def recent(limit: int = 50) -> list[AuditView]:
    """The newest entries, newest first."""
    with session_scope() as session:
        return [_view(e) for e in session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())
                                               .limit(max(1, min(limit, 500)))).all()]


def running_ids() -> list[int]:
    """The entries of long actions that have not finished, oldest first."""
    with session_scope() as session:
        return list(session.exec(select(AuditEntry.id).where(AuditEntry.outcome == "running")
                                 .order_by(AuditEntry.id)).all())
