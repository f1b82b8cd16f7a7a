"""Matches as people see them: lists with filters, one match with its games, its replay."""

from __future__ import annotations

import gzip
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from rl_arena_app.arena import envs
from rl_arena_app.arena.run import REPLAY_FORMAT, REPLAY_VERSION
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
from rl_arena_app.services.read_models import (
    AgentRef,
    GameView,
    MatchDetail,
    MatchPage,
    MatchSummary,
    ReplayGame,
    ReplayStep,
    ReplayView,
    Side,
)
from rl_arena_app.services.storage import stored_file
from rl_arena_app.settings import get_settings

log = logging.getLogger(__name__)
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
        summaries = _summaries(session, rows)
    return MatchPage(matches=summaries, total=total, offset=offset, limit=limit, env_id=env_id,
                     agent_id=agent_id, status=status)


def _summaries(session: Session, rows: Sequence[tuple]) -> list[MatchSummary]:
    """Summaries of joined match rows, with each side's Elo before and after the match."""
    ids = [row[0].id for row in rows]
    elo = _elo_changes(session, ids)
    forfeits = dict(session.exec(select(Game.match_id, func.count()).where(
        Game.match_id.in_(ids), Game.forfeit_player.is_not(None)).group_by(Game.match_id)).all())
    return [_summary(row, elo.get(row[0].id, {}), forfeits.get(row[0].id, 0)) for row in rows]


def _elo_changes(session: Session, match_ids: list[int]) -> dict[int, dict[int, tuple]]:
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
        [summary] = _summaries(session, [row])
        games = session.exec(select(Game).where(Game.match_id == match_id)
                             .order_by(Game.index)).all()
        events = _events_by_game(session, [g.id for g in games])
        match, sub_a, sub_b = row[0], row[1], row[4]
        views = [_game_view(g, events.get(g.id, {}), sub_a.id, sub_b.id) for g in games]
    header = _replay_header(match.replay_path)
    images = header.get("images") or [sub_a.image, sub_b.image]
    return MatchDetail(summary=summary, seed=match.seed, attempts=match.attempts,
                       worker=match.worker, started_at=match.started_at,
                       env_version=header.get("env_version"), images=images, games=views,
                       has_replay=match.replay_path is not None)


def _events_by_game(session: Session, game_ids: list[int]) -> dict[int, dict[int, RatingEvent]]:
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


# ---------------------------------------------------------------------------------- replays


def replay_path(relative: str) -> Path:
    """The file of a stored replay."""
    return stored_file(get_settings().data_dir, relative)


def _load_replay(relative: str) -> dict[str, Any]:
    """A stored replay, parsed and checked; BadInput when it is gone or not a replay."""
    try:
        with gzip.open(replay_path(relative), "rt", encoding="utf-8") as fh:
            replay = json.load(fh)
    except FileNotFoundError:
        raise NotFound("the replay file is missing from the replay store") from None
    except (OSError, ValueError) as exc:  # the error's text would name a server path
        log.warning("replay %s unreadable: %s", relative, exc)
        raise BadInput("the stored replay cannot be read: it is damaged (an admin can look at "
                       "the server's log)") from None
    if replay.get("format") != REPLAY_FORMAT or replay.get("format_version") != REPLAY_VERSION:
        raise BadInput(f"the stored replay is not an {REPLAY_FORMAT} v{REPLAY_VERSION} file")
    return replay


def _replay_header(relative: str | None) -> dict[str, Any]:
    """The replay's env version and images (empty when there is no readable replay)."""
    if relative is None:
        return {}
    try:
        replay = _load_replay(relative)
    except BadInput:
        return {}
    return {"env_version": replay.get("env_version"),
            "images": [a.get("image") for a in replay.get("agents", [])]}


def match_replay(match_id: int) -> ReplayView:
    """The replay of a finished match; NotFound when the match or its replay is missing."""
    with session_scope() as session:
        row = session.exec(_joined().where(Match.id == match_id)).first() \
            if in_range(match_id) else None
    if row is None:
        raise NotFound(f"no match {match_id}")
    match = row[0]
    if match.replay_path is None:
        raise NotFound(f"match {match_id} has no replay ({match.status})")
    names = [f"{row[2].name} v{row[1].version}", f"{row[5].name} v{row[4].version}"]
    return replay_view(_load_replay(match.replay_path), names, f"match-{match_id}.json.gz")


def match_replay_file(match_id: int) -> tuple[Path, str]:
    """The replay file of a match and the name to download it as."""
    with session_scope() as session:
        match = session.get(Match, match_id) if in_range(match_id) else None
    if match is None or match.replay_path is None:
        raise NotFound(f"match {match_id} has no replay")
    return replay_path(match.replay_path), f"match-{match_id}.json.gz"


def validation_replay(submission_id: int) -> ReplayView:
    """A submission's validation games or episodes; NotFound when it has none."""
    with session_scope() as session:
        row = session.exec(select(Submission, Agent).join(Agent, Agent.id == Submission.agent_id)
                           .where(Submission.id == submission_id)).first() \
            if in_range(submission_id) else None
    if row is None:
        raise NotFound(f"no submission {submission_id}")
    sub, agent = row
    if sub.validation_replay is None:
        raise NotFound(f"submission {submission_id} has no validation replay ({sub.status})")
    replay = _load_replay(sub.validation_replay)
    names = [f"{agent.name} v{sub.version}", *[a["ref"] for a in replay["agents"][1:]]]
    return replay_view(replay, names, f"validation-{submission_id}.json.gz")


def replay_view(replay: dict[str, Any], names: list[str], download_name: str) -> ReplayView:
    """A parsed replay as the viewer's read model (its text made printable)."""
    return ReplayView(
        env_id=replay["env"], env_version=replay.get("env_version", ""), kind=replay["kind"],
        seed=replay["seed"], agents=[printable(name) for name in names],
        images=[a.get("image") for a in replay["agents"]],
        games=[_replay_game(g) for g in replay["games"]], download_name=download_name)


def _replay_game(game: dict[str, Any]) -> ReplayGame:
    forfeit = game.get("forfeit") or {}
    return ReplayGame(
        index=game["index"], seed=game["seed"], seat_agents=game["seat_agents"],
        initial_state=game["initial_state"],
        steps=[ReplayStep(seat=s["seat"], agent=s["agent"], action=s["action"],
                          time_s=s.get("time_s", 0.0), rewards=s.get("rewards", []),
                          state=s["state"]) for s in game["steps"]],
        returns=game.get("returns", []), winner=game.get("winner"),
        forfeit_agent=forfeit.get("agent"), forfeit_reason=printable_or_none(forfeit.get("reason")),
        forfeit_detail=printable_or_none(forfeit.get("detail"), multiline=True))
