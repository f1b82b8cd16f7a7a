"""Matches as people see them: lists with filters, one match with its games."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from rl_arena_app.arena import envs
from rl_arena_app.core.text import printable, printable_or_none
from rl_arena_app.db.models import (
    Agent,
    Game,
    Match,
    MatchStatus,
    RatingEvent,
    Submission,
    User,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, NotFound
from rl_arena_app.services.ids import in_range
from rl_arena_app.services.matches.replays import replay_header
from rl_arena_app.services.read_models import (
    AgentRef,
    GameView,
    MatchDetail,
    MatchPage,
    MatchSummary,
    Side,
)

MAX_LIMIT = 100
SIDES = ("a", "b")

_SubA, _SubB = aliased(Submission), aliased(Submission)
_AgentA, _AgentB = aliased(Agent), aliased(Agent)
_UserA, _UserB = aliased(User), aliased(User)


def _joined():
    """Matches with both players' submission, agent and owner."""
    return (select(Match, _SubA, _AgentA, _UserA, _SubB, _AgentB, _UserB)
            .join(_SubA, _SubA.id == Match.player_a_id)
            .join(_AgentA, _AgentA.id == _SubA.agent_id)
            .join(_UserA, _UserA.id == _AgentA.owner_id)
            .join(_SubB, _SubB.id == Match.player_b_id)
            .join(_AgentB, _AgentB.id == _SubB.agent_id)
            .join(_UserB, _UserB.id == _AgentB.owner_id))


def agent_ref(sub: Submission, agent: Agent, owner: User) -> AgentRef:
    """An agent version as a link (names made printable: people chose them)."""
    return AgentRef(agent_id=agent.id, name=printable(agent.name), version=sub.version,
                    submission_id=sub.id, owner_name=printable(owner.name))


def match_page(*, env_id: str | None = None, agent_id: int | None = None,
               status: str | None = None, offset: int = 0, limit: int = 25) -> MatchPage:
    """Matches, newest first, filtered by env, agent (any version) and status."""
    if env_id is not None:
        envs.spec(env_id)
    if status is not None and status not in {s.value for s in MatchStatus}:
        raise BadInput(f"unknown match status {status!r}: use one of "
                       f"{', '.join(s.value for s in MatchStatus)}")
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"page out of range: offset >= 0 and 1 <= limit <= {MAX_LIMIT}")
    filters = []
    if env_id is not None:
        filters.append(Match.env_id == env_id)
    if status is not None:
        filters.append(Match.status == status)
    if agent_id is not None:
        filters.append(or_(_AgentA.id == agent_id, _AgentB.id == agent_id))
    with session_scope() as session:
        query = _joined().where(*filters)
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(Match.id.desc()).offset(offset).limit(limit)).all()
        summaries = _summaries(rows, session=session)
    return MatchPage(matches=summaries, total=total, offset=offset, limit=limit, env_id=env_id,
                     agent_id=agent_id, status=status)


def _summaries(rows: Sequence[tuple], *, session: Session) -> list[MatchSummary]:
    """Summaries of joined match rows, with each side's Elo before and after the match."""
    ids = [row[0].id for row in rows]
    elo = _elo_changes(ids, session=session)
    forfeits = dict(session.exec(select(Game.match_id, func.count()).where(
        Game.match_id.in_(ids), Game.forfeit_player.is_not(None)).group_by(Game.match_id)).all())
    return [_summary(row, elo.get(row[0].id, {}), forfeits.get(row[0].id, 0)) for row in rows]


def _elo_changes(match_ids: list[int], *, session: Session) -> dict[int, dict[int, tuple]]:
    """match id → submission id → (Elo before its first game, after its last game)."""
    events = session.exec(select(Game.match_id, RatingEvent.submission_id, RatingEvent.before,
                                 RatingEvent.after)
                          .join(Game, Game.id == RatingEvent.game_id)
                          .where(Game.match_id.in_(match_ids)).order_by(RatingEvent.id)).all()
    changes: dict[int, dict[int, tuple]] = defaultdict(dict)
    for match_id, sub_id, before, after in events:
        first = changes[match_id].get(sub_id, (before, after))[0]
        changes[match_id][sub_id] = (first, after)
    return changes


def _summary(row: tuple, elo: dict[int, tuple], forfeits: int) -> MatchSummary:
    match, sub_a, agent_a, user_a, sub_b, agent_b, user_b = row

    def side(sub: Submission, agent: Agent, owner: User, points: float | None) -> Side:
        before, after = elo.get(sub.id, (None, None))
        return Side(agent=agent_ref(sub, agent, owner), points=points, elo_before=before,
                    elo_after=after)

    return MatchSummary(
        match_id=match.id, env_id=match.env_id, status=match.status,
        a=side(sub_a, agent_a, user_a, match.points_a),
        b=side(sub_b, agent_b, user_b, match.points_b), created_at=match.created_at,
        finished_at=match.finished_at, forfeits=forfeits,
        error=printable_or_none(match.error, multiline=True))


def match_detail(match_id: int) -> MatchDetail:
    """One match with its games and what identifies it; NotFound for an unknown id."""
    with session_scope() as session:
        row = session.exec(_joined().where(Match.id == match_id)).first() \
            if in_range(match_id) else None
        if row is None:
            raise NotFound(f"no match {match_id}: see /matches for the matches played")
        [summary] = _summaries([row], session=session)
        games = session.exec(select(Game).where(Game.match_id == match_id)
                             .order_by(Game.index)).all()
        events = _events_by_game([g.id for g in games], session=session)
        match, sub_a, sub_b = row[0], row[1], row[4]
        views = [_game_view(g, events.get(g.id, {}), sub_a.id, sub_b.id) for g in games]
    header = replay_header(match.replay_path)
    images = header.get("images") or [sub_a.image, sub_b.image]
    return MatchDetail(summary=summary, seed=match.seed, attempts=match.attempts,
                       worker=match.worker, started_at=match.started_at,
                       env_version=header.get("env_version"), images=images, games=views,
                       has_replay=match.replay_path is not None)


def _events_by_game(game_ids: list[int], *, session: Session) -> dict[int, dict[int, RatingEvent]]:
    """game id → submission id → its rating event."""
    found: dict[int, dict[int, RatingEvent]] = defaultdict(dict)
    for event in session.exec(select(RatingEvent).where(RatingEvent.game_id.in_(game_ids))):
        found[event.game_id][event.submission_id] = event
    return found


def _game_view(game: Game, events: dict[int, RatingEvent], a_id: int, b_id: int) -> GameView:
    """One recorded game, in match sides ("a", "b"); the forfeit's detail (the agent's words,
    stored raw by older versions) made printable."""
    winner = None if game.score_a == 0.5 else "a" if game.score_a == 1.0 else "b"
    ea, eb = events.get(a_id), events.get(b_id)
    return GameView(
        index=game.index, first=SIDES[game.first], outcome=game.outcome, winner=winner,
        score_a=game.score_a,
        forfeit_side=SIDES[game.forfeit_player] if game.forfeit_player is not None else None,
        forfeit_reason=printable_or_none(game.forfeit_reason),
        forfeit_detail=printable_or_none(game.forfeit_detail, multiline=True),
        steps=game.steps, duration_s=game.duration_s,
        elo_a_before=ea.before if ea else None, elo_a_after=ea.after if ea else None,
        elo_b_before=eb.before if eb else None, elo_b_after=eb.after if eb else None)
