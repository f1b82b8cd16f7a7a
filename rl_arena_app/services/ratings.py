"""Admin rating use cases: rebuild Elo from the game history, refresh Bradley-Terry estimates."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlmodel import Session, select

from rl_arena_app.arena import envs
from rl_arena_app.core.ratings import EloConfig, encode_games, fit_bradley_terry, replay_elo
from rl_arena_app.db.models import (
    EnvState,
    Game,
    RatingEvent,
    Submission,
    SubmissionStatus,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import events, leaderboard
from rl_arena_app.settings import Settings, get_settings


def elo_config(settings: Settings | None = None) -> EloConfig:
    """The Elo parameters of the platform."""
    settings = settings or get_settings()
    return EloConfig(start=settings.elo_start, k_schedule=tuple(settings.elo_k_schedule),
                     k_final=settings.elo_k_final)


def lock_submissions(session: Session, env_id: str) -> list[Submission]:
    """Every submission of the env, locked in id order (PostgreSQL; SQLite has one writer)."""
    return list(session.exec(select(Submission).where(Submission.env_id == env_id)
                             .order_by(Submission.id).with_for_update()
                             .execution_options(populate_existing=True)).all())


def rebuild_ratings(env_id: str) -> int:
    """Recompute every rating and rating event of a duel env from its games; return games."""
    envs.spec(env_id)
    with session_scope() as session:
        # Lock the submission rows (PostgreSQL), then take the write lock (SQLite), then read:
        # a result being recorded meanwhile is either fully in the history or waits for us.
        lock_submissions(session, env_id)
        session.exec(delete(RatingEvent).where(
            RatingEvent.game_id.in_(select(Game.id).where(Game.env_id == env_id)))
            .execution_options(synchronize_session=False))
        subs = lock_submissions(session, env_id)
        games = session.exec(select(Game.id, Game.player_a_id, Game.player_b_id, Game.score_a,
                                    Game.played_at).where(Game.env_id == env_id)
                             .order_by(Game.id)).all()
        result = replay_elo([(g.player_a_id, g.player_b_id, g.score_a) for g in games],
                            elo_config(), initial={s.id: s.initial_rating for s in subs})
        for sub in subs:
            sub.rating = result.ratings.get(sub.id, sub.initial_rating)
            sub.games = result.games.get(sub.id, 0)
            session.add(sub)
        rows = []
        for game, ev in zip(games, result.events, strict=True):
            rows.append({"submission_id": game.player_a_id, "game_id": game.id,
                         "before": ev.a_before, "after": ev.a_after, "at": game.played_at})
            rows.append({"submission_id": game.player_b_id, "game_id": game.id,
                         "before": ev.b_before, "after": ev.b_after, "at": game.played_at})
        if rows:
            session.exec(insert(RatingEvent), params=rows)
    if envs.spec(env_id).kind == "duel":
        leaderboard.rebuild_leaderboard(env_id)
    events.publish("ratings_rebuilt", env=env_id, games=len(games))
    return len(games)


def refresh_bradley_terry(env_id: str, *, seed: int = 0) -> int:
    """Fit Bradley-Terry (bootstrap intervals, Rank(UB)) over the env's games; return players."""
    envs.spec(env_id)
    settings = get_settings()
    with session_scope() as session:
        games = session.exec(select(Game.player_a_id, Game.player_b_id, Game.score_a)
                             .where(Game.env_id == env_id).order_by(Game.id)).all()
        ready = session.exec(select(Submission.id).where(
            Submission.env_id == env_id, Submission.status == SubmissionStatus.READY)
            .order_by(Submission.id)).all()
        encoded = encode_games(((a, b, s) for a, b, s in games), known=ready)
        fit = fit_bradley_terry(encoded.a_idx, encoded.b_idx, encoded.score, len(encoded.ids),
                                bootstrap=settings.bt_bootstrap, seed=seed,
                                min_games=settings.provisional_games)
        subs = {s.id: s for s in lock_submissions(session, env_id)}
        for k, sub_id in enumerate(encoded.ids):
            sub = subs[sub_id]
            if fit.games[k]:
                sub.bt_rating = float(fit.rating[k])
                sub.bt_low, sub.bt_high = float(fit.ci_low[k]), float(fit.ci_high[k])
                sub.bt_rank_ub = int(fit.rank_ub[k])
            else:  # no games: the prior's 1500 ± 0 would read as a measurement
                sub.bt_rating = sub.bt_low = sub.bt_high = sub.bt_rank_ub = None
            session.add(sub)
        state = session.get(EnvState, env_id) or EnvState(env_id=env_id)
        state.bt_refreshed_at = utcnow()
        session.add(state)
    events.publish("bt_refreshed", env=env_id, players=len(encoded.ids), games=len(games))
    return len(encoded.ids)
