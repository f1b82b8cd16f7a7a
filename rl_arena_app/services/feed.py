"""The live feed: the newest events (finished matches, ready or failed submissions) as lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis

from rl_arena_app.core.text import printable
from rl_arena_app.db.models import utcnow
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.services import events
from rl_arena_app.services.read_models import FeedItem


def feed_item(event: dict[str, Any]) -> FeedItem | None:
    """The feed line of a live event, or None for events the feed does not show."""
    kind = event.get("kind")
    try:
        if kind == "match_finished":
            return _match_line(event)
        if kind == "submission_status" and event.get("status") in ("ready", "failed"):
            return _submission_line(event)
    except (KeyError, TypeError, ValueError):
        return None  # an event of an older shape: not worth a line
    return None


def _when(event: dict[str, Any]) -> datetime:
    raw = event.get("at")
    return datetime.fromisoformat(raw) if raw else utcnow()


def _elo(before: float | None, after: float | None) -> str:
    """``1500 → 1516 (+16)``, or '' when unknown."""
    if before is None or after is None:
        return ""
    return f"{before:.0f} → {after:.0f} ({after - before:+.0f})"


def _match_line(event: dict[str, Any]) -> FeedItem:
    a = f"{event['name_a']} v{event['version_a']}"
    b = f"{event['name_b']} v{event['version_b']}"
    pa, pb = float(event["points_a"]), float(event["points_b"])
    verb = "beat" if pa > pb else "lost to" if pa < pb else "drew with"
    changes = [f"{name} {text}" for name, text in (
        (a, _elo(event.get("rating_a_before"), event.get("rating_a"))),
        (b, _elo(event.get("rating_b_before"), event.get("rating_b")))) if text]
    text = f"{a} {verb} {b} {pa:g}-{pb:g}" + (f"; Elo {', '.join(changes)}" if changes else "")
    return FeedItem(kind="match_finished", at=_when(event), env_id=event["env"],
                    text=printable(text), match_id=int(event["match_id"]),
                    agent_ids=[int(event["agent_a"]), int(event["agent_b"])])


def _submission_line(event: dict[str, Any]) -> FeedItem:
    who = f"{event['name']} v{event['version']}"
    if event["status"] == "ready":
        text, kind = f"{who} is ready and enters {event['env_id']}", "submission_ready"
    else:
        text, kind = f"{who} failed: {event.get('reason') or 'no reason given'}", \
            "submission_failed"
    return FeedItem(kind=kind, at=_when(event), env_id=event["env_id"], text=printable(text),
                    agent_ids=[int(event["agent_id"])])


def recent_feed(limit: int = 20) -> list[FeedItem]:
    """The newest feed lines, newest first (empty when Redis is unreachable)."""
    try:
        recent = events.recent(limit * 4)
    except (InfrastructureError, redis.RedisError):
        return []
    items = [item for event in recent if (item := feed_item(event)) is not None]
    return items[:limit]
