"""Leaderboards: a Redis sorted set per env as the fast read path; the database is the truth.

The sorted set ``rl-arena:leaderboard:<env>`` holds every ready submission of the env that has a
score (members are submission ids; the score is the Elo rating for duels and the mean return for
solo tasks). What is displayed is the **latest ready version of each agent**: older versions keep
their rating (frozen code, fixed skill) but would only clutter the table, so reads skip them.
Reads fall back to the database when the set is empty (Redis flushed) and repopulate it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from sqlalchemy import func
from sqlmodel import Session, select

from jobs.queue import get_redis
from rl_arena_app.arena import envs
from rl_arena_app.arena.outcomes import InfrastructureError
from rl_arena_app.db.models import Agent, Submission, SubmissionStatus, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.settings import get_settings

KEY_PREFIX = "rl-arena:leaderboard:"
_CHUNK = 200

log = logging.getLogger(__name__)


def leaderboard_key(env_id: str) -> str:
    """The Redis key of an env's sorted set."""
    return f"{KEY_PREFIX}{env_id}"


def score_of(submission: Submission, kind: str) -> float | None:
    """The leaderboard score of a submission: Elo for duels, mean return for solo tasks."""
    return submission.rating if kind == "duel" else submission.score_mean


def update(env_id: str, scores: Mapping[int, float]) -> None:
    """Set submissions' scores in the sorted set (best effort: the database holds the truth)."""
    if not scores:
        return
    try:
        get_redis().zadd(leaderboard_key(env_id), {str(k): v for k, v in scores.items()})
    except (InfrastructureError, redis.RedisError) as exc:
        log.warning("leaderboard %s not updated: %s", env_id, exc)


def _ranked_submissions(session: Session, env_id: str, kind: str) -> list[Submission]:
    """Every ready, scored submission of the env, best first (ties as Redis orders them)."""
    rows = session.exec(select(Submission).where(
        Submission.env_id == env_id, Submission.status == SubmissionStatus.READY)).all()
    scored = [s for s in rows if score_of(s, kind) is not None]
    # ZREVRANGE orders equal scores by member (string) descending: do the same.
    scored.sort(key=lambda s: str(s.id), reverse=True)
    scored.sort(key=lambda s: score_of(s, kind), reverse=True)
    return scored


def rebuild_leaderboard(env_id: str) -> int:
    """Replace the env's sorted set with the database's ready submissions; return its size."""
    kind = envs.spec(env_id).kind
    with session_scope() as session:
        ranked = _ranked_submissions(session, env_id, kind)
    key = leaderboard_key(env_id)
    pipe = get_redis().pipeline(transaction=True)  # readers never see it half-built
    pipe.delete(key)
    if ranked:
        pipe.zadd(key, {str(s.id): score_of(s, kind) for s in ranked})
    pipe.execute()
    return len(ranked)


def _latest_versions(session: Session, agent_ids: Iterable[int]) -> dict[int, int]:
    """The latest ready version of each agent."""
    ids = list(set(agent_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Submission.agent_id, func.max(Submission.version))
        .where(Submission.agent_id.in_(ids), Submission.status == SubmissionStatus.READY)
        .group_by(Submission.agent_id)).all()
    return dict(rows)


def _rows_for(session: Session, ids: list[int]) -> dict[int, tuple[Submission, Agent, User]]:
    """Submission, agent and owner of each id."""
    if not ids:
        return {}
    rows = session.exec(
        select(Submission, Agent, User)
        .join(Agent, Agent.id == Submission.agent_id)
        .join(User, User.id == Agent.owner_id)
        .where(Submission.id.in_(ids))).all()
    return {s.id: (s, a, u) for s, a, u in rows}


def _row(rank: int, sub: Submission, agent: Agent, owner: User, kind: str) -> dict[str, Any]:
    """One leaderboard row."""
    provisional = sub.games < get_settings().provisional_games
    row = {"rank": rank, "name": agent.name, "owner": owner.email, "agent": agent.id,
           "submission": sub.id, "version": sub.version, "score": score_of(sub, kind),
           "rating": sub.rating if kind == "duel" else None, "games": sub.games,
           "bt_rating": sub.bt_rating, "bt_low": sub.bt_low, "bt_high": sub.bt_high,
           "rank_ub": sub.bt_rank_ub, "provisional": provisional if kind == "duel" else False}
    if kind == "solo":
        row |= {"score_mean": sub.score_mean, "score_std": sub.score_std}
    return row


def _displayed(session: Session, ids: list[int], kind: str) -> list[tuple[Submission, Agent, User]]:
    """The ids (in order) that are ready, scored and their agent's latest ready version."""
    found = _rows_for(session, ids)
    latest = _latest_versions(session, (s.agent_id for s, _, _ in found.values()))
    keep = []
    for i in ids:
        if i not in found:
            continue
        sub = found[i][0]
        if (sub.status == SubmissionStatus.READY and score_of(sub, kind) is not None
                and latest.get(sub.agent_id) == sub.version):
            keep.append(found[i])
    return keep


def _ids_from_redis(env_id: str, limit: int, session: Session, kind: str) -> list[Any] | None:
    """Displayed rows in the sorted set's order; None when the set is empty."""
    connection = get_redis()
    key = leaderboard_key(env_id)
    if not connection.zcard(key):
        return None
    shown: list[Any] = []
    start = 0
    while len(shown) < limit:
        members = connection.zrevrange(key, start, start + _CHUNK - 1)
        if not members:
            break
        shown += _displayed(session, [int(m) for m in members], kind)
        start += _CHUNK
    return shown[:limit]


def leaderboard(env_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The env's leaderboard rows, best first (Redis order; the database when Redis is empty)."""
    kind = envs.spec(env_id).kind
    redis_up = True
    with session_scope() as session:
        try:
            shown = _ids_from_redis(env_id, limit, session, kind)
        except (InfrastructureError, redis.RedisError) as exc:
            log.warning("leaderboard %s read from the database: %s", env_id, exc)
            shown, redis_up = None, False
        if shown is None:
            ranked = _ranked_submissions(session, env_id, kind)
            shown = _displayed(session, [s.id for s in ranked], kind)[:limit]
            if ranked and redis_up:
                _repopulate(env_id)
    return [_row(rank, *entry, kind) for rank, entry in enumerate(shown, start=1)]


def _repopulate(env_id: str) -> None:
    """Rebuild the sorted set after a database read (best effort)."""
    try:
        rebuild_leaderboard(env_id)
    except (InfrastructureError, redis.RedisError) as exc:
        log.warning("leaderboard %s not repopulated: %s", env_id, exc)
