"""Matches: play a queued duel in the sandbox and record its result exactly once.

Claiming a match is a guarded ``queued → running`` update and recording it a guarded
``running → finished`` update, each checked by its row count, so a job run twice (RQ retry,
re-enqueue after a dead worker, Redis flush) neither plays a match twice at once nor applies a
result twice. Agent faults are forfeits inside the result; infrastructure errors put the match
back on the queue (or mark it failed after ``match_max_attempts``) and are re-raised for RQ.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from rl_arena_app.arena import envs
from rl_arena_app.arena.referee import GameRecord, Limits
from rl_arena_app.arena.run import play
from rl_arena_app.arena.sandbox import SandboxRunner
from rl_arena_app.core.ratings import elo_update
from rl_arena_app.db.models import Agent, Game, Match, MatchStatus, RatingEvent, Submission, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services import events, metrics
from rl_arena_app.services.ratings.refresh import count_result, elo_config
from rl_arena_app.services.storage import store_replay
from rl_arena_app.services.submissions.builds import submission_bundle
from rl_arena_app.settings import Settings, get_settings

_SYNC = {"synchronize_session": False}

log = logging.getLogger(__name__)


def worker_name() -> str:
    """Who is playing: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(match_id: int, settings: Settings) -> tuple[Match, Submission, Submission] | None:
    """Move the match queued → running for this worker; None when it is not queued."""
    now = utcnow()
    with session_scope() as session:
        claimed = session.exec(update(Match).where(
            Match.id == match_id, Match.status == MatchStatus.QUEUED).values(
            status=MatchStatus.RUNNING, attempts=Match.attempts + 1, started_at=now,
            deadline=now + timedelta(seconds=settings.match_deadline_s), worker=worker_name(),
            error=None).execution_options(**_SYNC))
        if claimed.rowcount != 1:
            return None
        match = session.get(Match, match_id)
        return match, session.get(Submission, match.player_a_id), session.get(
            Submission, match.player_b_id)


def _release(match: Match, error: str, settings: Settings, *, retry: bool) -> None:
    """Give the running match back to the queue, or fail it (no retry, or attempts used up)."""
    give_up = not retry or match.attempts >= settings.match_max_attempts
    values: dict[str, Any] = {"status": MatchStatus.FAILED if give_up else MatchStatus.QUEUED,
                              "error": error[:2000], "deadline": None, "worker": None}
    if give_up:
        values["finished_at"] = utcnow()
    with session_scope() as session:
        session.exec(update(Match).where(
            Match.id == match.id, Match.status == MatchStatus.RUNNING,
            Match.attempts == match.attempts).values(**values).execution_options(**_SYNC))


def play_match(match_id: int, runner: SandboxRunner) -> bool:
    """Play a queued match and record its result; False when there was nothing to play."""
    settings = get_settings()
    claimed = _claim(match_id, settings)
    if claimed is None:
        log.info("match %s is not queued: nothing to do", match_id)
        return False
    match, sub_a, sub_b = claimed
    started = time.perf_counter()
    try:
        games, path = _play(match, sub_a, sub_b, runner, settings)
    except InfrastructureError as exc:
        metrics.count("rl_arena_matches_failed_total", env=match.env_id)
        _release(match, f"infrastructure: {exc}", settings, retry=True)
        raise
    except BadInput as exc:  # e.g. a missing artifact: playing again cannot help
        metrics.count("rl_arena_matches_failed_total", env=match.env_id)
        _release(match, f"cannot play: {exc}", settings, retry=False)
        raise
    recorded = record_result(match_id, games, path)
    if recorded:
        metrics.count("rl_arena_matches_played_total", env=match.env_id)
        metrics.observe("rl_arena_match_duration_seconds", time.perf_counter() - started,
                        env=match.env_id)
    return recorded


def _play(match: Match, sub_a: Submission, sub_b: Submission, runner: SandboxRunner,
          settings: Settings) -> tuple[list[GameRecord], str]:
    """Run the duel in the runner's sandboxes and store its replay."""
    env = envs.spec(match.env_id)
    prepared = runner.prepare([submission_bundle(s) for s in (sub_a, sub_b)])
    refs = [f"submission:{sub_a.id}", f"submission:{sub_b.id}"]
    result = play(env, prepared.factories, refs, sandbox=runner.kind, seed=match.seed,
                  limits=Limits.for_env(env), games=settings.match_games or env.games)
    return result.games, store_replay(result.replay())


def game_score(game: GameRecord) -> float:
    """Player a's (agent 0's) score in one game: the winner (a forfeit's opponent) takes it."""
    winner = game.winner
    if winner is None:
        return 0.5  # a draw, or both agents unable to play
    if winner not in (0, 1):
        raise ValueError(f"winner must be agent 0 or 1, got {winner!r}")
    return 1.0 if winner == 0 else 0.0


def record_result(match_id: int, games: Sequence[GameRecord], replay: str | Path | None) -> bool:
    """Apply a played match once: games, Elo per game, rating events; False if already done.

    ``games`` are the referee's records, agent 0 being player a.
    """
    scores = [game_score(g) for g in games]
    now = utcnow()
    with session_scope() as session:
        done = session.exec(update(Match).where(
            Match.id == match_id, Match.status == MatchStatus.RUNNING).values(
            status=MatchStatus.FINISHED, finished_at=now, deadline=None, error=None,
            points_a=sum(scores), points_b=len(scores) - sum(scores),
            replay_path=None if replay is None else str(replay)).execution_options(**_SYNC))
        if done.rowcount != 1:
            return False
        match = session.get(Match, match_id)
        locked = session.exec(select(Submission).where(
            Submission.id.in_([match.player_a_id, match.player_b_id]))
            .order_by(Submission.id).with_for_update()).all()
        subs = {s.id: s for s in locked}
        _rate_games(match, subs[match.player_a_id], subs[match.player_b_id], games, scores, now,
                    session=session)
        env_id, a_id, b_id = match.env_id, match.player_a_id, match.player_b_id
    _after_commit(env_id, match_id, a_id, b_id, scores)
    return True


def _rate_games(match: Match, a: Submission, b: Submission, games: Sequence[GameRecord],
                scores: list[float], now, *, session: Session) -> None:
    """Insert the games in order, apply Elo per game and write both sides' rating events."""
    config = elo_config()
    for index, (record, score) in enumerate(zip(games, scores, strict=True)):
        game = _game_row(match, index, record, score, now)
        session.add(game)
        session.flush()  # the game's id orders the rating history
        ra, rb = elo_update(a.rating, b.rating, score, a.games, b.games, config)
        session.add(RatingEvent(submission_id=a.id, game_id=game.id, before=a.rating, after=ra,
                                at=now))
        session.add(RatingEvent(submission_id=b.id, game_id=game.id, before=b.rating, after=rb,
                                at=now))
        a.rating, b.rating = ra, rb
        a.games, b.games = a.games + 1, b.games + 1
        count_result(a, score)
        count_result(b, 1.0 - score)
    a.updated_at = b.updated_at = now
    session.add_all([a, b])


def _game_row(match: Match, index: int, record: GameRecord, score: float, now) -> Game:
    """The database row of one game of ``match`` (agent 0 is player a)."""
    forfeit = record.forfeit
    outcome = "forfeit" if forfeit else "draw" if record.winner is None else "win"
    return Game(match_id=match.id, index=index, env_id=match.env_id,
                player_a_id=match.player_a_id, player_b_id=match.player_b_id,
                first=record.seat_agents[0], outcome=outcome, score_a=score,
                forfeit_player=forfeit.agent if forfeit else None,
                forfeit_reason=str(forfeit.reason) if forfeit else None,
                forfeit_detail=(forfeit.detail[-2000:] or None) if forfeit else None,
                steps=len(record.steps), duration_s=record.duration_s, played_at=now)


def _after_commit(env_id: str, match_id: int, a_id: int, b_id: int, scores: list[float]) -> None:
    """Publish the live event of a recorded match (names, points, Elo before and after)."""
    with session_scope() as session:
        rows = {s.id: (s, agent) for s, agent in session.exec(
            select(Submission, Agent).join(Agent, Agent.id == Submission.agent_id)
            .where(Submission.id.in_([a_id, b_id]))).all()}
        first_events = {e.submission_id: e.before for e in session.exec(
            select(RatingEvent).join(Game, Game.id == RatingEvent.game_id)
            .where(Game.match_id == match_id).order_by(RatingEvent.id)).all()[:2]}
    (sub_a, agent_a), (sub_b, agent_b) = rows[a_id], rows[b_id]
    events.publish("match_finished", match_id=match_id, env=env_id, player_a=a_id,
                   player_b=b_id, points_a=sum(scores), points_b=len(scores) - sum(scores),
                   rating_a=sub_a.rating, rating_b=sub_b.rating,
                   rating_a_before=first_events.get(a_id), rating_b_before=first_events.get(b_id),
                   agent_a=agent_a.id, agent_b=agent_b.id, name_a=agent_a.name,
                   name_b=agent_b.name, version_a=sub_a.version, version_b=sub_b.version)
