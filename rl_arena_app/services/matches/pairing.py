"""The matchmaking tick: ready submissions of a duel env → new queued matches → the RQ queue.

``waited_ticks`` counts the ticks a submission spent without an open match since its last match
was made; the optional cooldown (``settings.cooldown_ticks``) is measured on it too, so a
submission that has played waits that many idle ticks before its next match.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from datetime import UTC, datetime, time

from sqlalchemy import func, union_all, update
from sqlmodel import Session, select

from rl_arena_app.arena import envs
from rl_arena_app.arena.referee import derive_seed
from rl_arena_app.core.matchmaking import Candidate, MatchmakingConfig, pair
from rl_arena_app.db.models import (
    OPEN_MATCH,
    Agent,
    EnvState,
    Game,
    Match,
    MatchStatus,
    Submission,
    User,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.matches.queue import enqueue_match
from rl_arena_app.services.ratings.snapshots import current_versions
from rl_arena_app.settings import Settings, get_settings

RECENT = 3


def tick_seed(env_id: str, tick: int) -> int:
    """The default seed of an env's matchmaking tick."""
    return derive_seed(zlib.crc32(env_id.encode()), tick)


def _sides(model, env_id: str, *columns):
    """Both seats of a match/game table as rows (me, opponent, *columns)."""
    a = select(model.player_a_id.label("me"), model.player_b_id.label("opp"), *columns)
    b = select(model.player_b_id.label("me"), model.player_a_id.label("opp"), *columns)
    return union_all(a.where(model.env_id == env_id), b.where(model.env_id == env_id)).subquery()


def _recent_and_open(env_id: str, *, session: Session) -> tuple[dict, dict]:
    """Each submission's last opponents (newest first) and its open matches."""
    sides = _sides(Match, env_id, Match.id.label("mid"), Match.status.label("status"))
    rn = func.row_number().over(partition_by=sides.c.me, order_by=sides.c.mid.desc())
    ranked = select(sides.c.me, sides.c.opp, sides.c.mid, rn.label("rn")).subquery()
    recent: dict[int, list[int]] = defaultdict(list)
    for me, opp in session.exec(select(ranked.c.me, ranked.c.opp).where(ranked.c.rn <= RECENT)
                                .order_by(ranked.c.me, ranked.c.mid.desc())).all():
        recent[me].append(opp)
    open_counts = dict(session.exec(
        select(sides.c.me, func.count()).where(sides.c.status.in_(list(OPEN_MATCH)))
        .group_by(sides.c.me)).all())
    return recent, open_counts


def _games_today(env_id: str, *, session: Session) -> dict[int, int]:
    """Games played since UTC midnight per submission."""
    midnight = datetime.combine(utcnow().date(), time(0), tzinfo=UTC)
    sides = _sides(Game, env_id, Game.played_at.label("at"))
    return dict(session.exec(select(sides.c.me, func.count()).where(sides.c.at >= midnight)
                             .group_by(sides.c.me)).all())


def candidates(env_id: str, tick: int, settings: Settings, *, session: Session) -> list[Candidate]:
    """Every agent's current (latest ready) version in the env as a matchmaking candidate.

    Superseded versions keep their rating but play no more: their code is not the agent's now.
    """
    rows = session.exec(
        select(Submission.id, Submission.rating, Submission.games, Submission.waited_ticks,
               User.id, User.is_house)
        .join(Agent, Agent.id == Submission.agent_id).join(User, User.id == Agent.owner_id)
        .where(*current_versions(env_id), Agent.retired_at.is_(None))).all()
    recent, open_counts = _recent_and_open(env_id, session=session)
    today = _games_today(env_id, session=session) if settings.daily_cap is not None else {}
    cooldown = settings.cooldown_ticks
    out = []
    for sub_id, rating, games, waited, owner_id, house in rows:
        cooling = cooldown and recent.get(sub_id) and waited < cooldown
        out.append(Candidate(
            id=sub_id, owner=str(owner_id), rating=rating, games=games, waited_ticks=waited,
            recent_opponents=tuple(recent.get(sub_id, ())), open_matches=open_counts.get(sub_id, 0),
            house=house, cooldown_until_tick=tick + cooldown - waited if cooling else None,
            games_today=today.get(sub_id, 0)))
    return out


def matchmaking_tick(env_id: str, *, seed: int | None = None) -> list[int]:
    """Pair the env's waiting submissions, create queued matches, enqueue them; return ids."""
    if envs.spec(env_id).kind != "duel":
        return []  # solo tasks are scored at validation
    settings = get_settings()
    with session_scope() as session:
        state = session.get(EnvState, env_id) or EnvState(env_id=env_id)
        if state.matchmaking_paused or not state.enabled:
            return []
        queued = session.exec(select(func.count()).select_from(Match)
                              .where(Match.status == MatchStatus.QUEUED)).one()
        room = settings.match_queue_max - queued
        if room <= 0:
            return []
        tick = state.tick
        pool = candidates(env_id, tick, settings, session=session)
        config = MatchmakingConfig(daily_cap=settings.daily_cap, max_new_matches=room,
                                   provisional_games=settings.provisional_games)
        run_seed = tick_seed(env_id, tick) if seed is None else seed
        pairs = pair(pool, config, tick=tick, seed=run_seed)
        matches = [Match(env_id=env_id, seed=derive_seed(run_seed, k), player_a_id=a,
                         player_b_id=b, status=MatchStatus.QUEUED)
                   for k, (a, b) in enumerate(pairs)]
        session.add_all(matches)
        matched = {i for p in pairs for i in p}
        idle = [c.id for c in pool if c.open_matches == 0 and c.id not in matched]
        _set_waiting(matched, idle, session=session)
        state.tick, state.last_tick_at = tick + 1, utcnow()
        session.add(state)
        session.flush()
        ids = [m.id for m in matches]
    for match_id in ids:
        enqueue_match(match_id, 0)
    return ids


def _set_waiting(matched: set[int], idle: list[int], *, session: Session) -> None:
    """Reset the waiting time of matched submissions and add a tick to the idle ones."""
    sync = {"synchronize_session": False}
    if matched:
        session.exec(update(Submission).where(Submission.id.in_(matched))
                     .values(waited_ticks=0).execution_options(**sync))
    if idle:
        session.exec(update(Submission).where(Submission.id.in_(idle))
                     .values(waited_ticks=Submission.waited_ticks + 1).execution_options(**sync))
