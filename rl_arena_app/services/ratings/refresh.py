"""Admin rating use cases: rebuild Elo from the game history, refresh Bradley-Terry estimates."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, insert
from sqlmodel import Session, select

from rl_arena_app.arena import envs
from rl_arena_app.core.ratings import (
    EloConfig,
    encode_games,
    fit_bradley_terry,
    rank_upper_bound,
    replay_elo,
)
from rl_arena_app.db.models import (
    BTEstimate,
    EnvState,
    Game,
    RatingEvent,
    Submission,
    SubmissionStatus,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import events
from rl_arena_app.services.ratings.snapshots import current_versions
from rl_arena_app.settings import Settings, get_settings


def elo_config(settings: Settings | None = None) -> EloConfig:
    """The Elo parameters of the platform."""
    settings = settings or get_settings()
    return EloConfig(start=settings.elo_start, k_schedule=tuple(settings.elo_k_schedule),
                     k_final=settings.elo_k_final)


def lock_submissions(env_id: str, *, session: Session) -> list[Submission]:
    """Every submission of the env, locked in id order (PostgreSQL; SQLite has one writer)."""
    return list(session.exec(select(Submission).where(Submission.env_id == env_id)
                             .order_by(Submission.id).with_for_update()
                             .execution_options(populate_existing=True)).all())


def count_result(submission: Submission, score: float) -> None:
    """Add one game's result (1 win, 0.5 draw, 0 loss or forfeit) to the counters."""
    if score == 1.0:
        submission.wins += 1
    elif score == 0.5:
        submission.draws += 1
    else:
        submission.losses += 1


# Told (games done, games in all) as a rebuild goes: a progress bar's feed.
RebuildProgress = Callable[[int, int], None]
REBUILD_CHUNK = 5000  # games whose rating events are written at once


def _no_progress(done: int, total: int) -> None:
    """Report nothing."""


def rebuild_ratings(env_id: str, *, progress: RebuildProgress = _no_progress) -> int:
    """Recompute every rating, rating event and win/draw/loss count of a duel env from its games;
    return the number of games. ``progress`` hears how many games are done as their rating
    events are written, inside the rebuild's transaction: it must not write the database
    (SQLite's write lock is held), only show progress."""
    envs.spec(env_id)
    with session_scope() as session:
        # Lock the submission rows (PostgreSQL), then take the write lock (SQLite), then read:
        # a result being recorded meanwhile is either fully in the history or waits for us.
        lock_submissions(env_id, session=session)
        session.exec(delete(RatingEvent).where(
            RatingEvent.game_id.in_(select(Game.id).where(Game.env_id == env_id)))
            .execution_options(synchronize_session=False))
        subs = lock_submissions(env_id, session=session)
        games = session.exec(select(Game.id, Game.player_a_id, Game.player_b_id, Game.score_a,
                                    Game.played_at).where(Game.env_id == env_id)
                             .order_by(Game.id)).all()
        progress(0, len(games))
        result = replay_elo([(g.player_a_id, g.player_b_id, g.score_a) for g in games],
                            elo_config(), initial={s.id: s.initial_rating for s in subs})
        by_id = {sub.id: sub for sub in subs}
        for sub in subs:
            sub.rating = result.ratings.get(sub.id, sub.initial_rating)
            sub.games = result.games.get(sub.id, 0)
            sub.wins = sub.draws = sub.losses = 0
        for game in games:
            count_result(by_id[game.player_a_id], game.score_a)
            count_result(by_id[game.player_b_id], 1.0 - game.score_a)
        session.add_all(subs)
        changes = list(result.events)
        for start in range(0, len(games), REBUILD_CHUNK):
            end = start + REBUILD_CHUNK
            session.exec(insert(RatingEvent),
                         params=_event_rows(games[start:end], changes[start:end]))
            progress(min(end, len(games)), len(games))
    events.publish("ratings_rebuilt", env=env_id, games=len(games))
    return len(games)


def _event_rows(games: Sequence, changes: Sequence) -> list[dict]:
    """The two rating events (one per side) of each game, as rows to insert."""
    rows = []
    for game, ev in zip(games, changes, strict=True):
        rows.append({"submission_id": game.player_a_id, "game_id": game.id,
                     "before": ev.a_before, "after": ev.a_after, "at": game.played_at})
        rows.append({"submission_id": game.player_b_id, "game_id": game.id,
                     "before": ev.b_before, "after": ev.b_after, "at": game.played_at})
    return rows


def refresh_bradley_terry(env_id: str, *, seed: int = 0) -> int:
    """Fit Bradley-Terry over the env's games (estimates, 95% intervals, Rank(UB) among the
    shown versions); keep a history row for each submission whose estimate changed; return the
    number of submissions fitted."""
    envs.spec(env_id)
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        games = session.exec(select(Game.player_a_id, Game.player_b_id, Game.score_a)
                             .where(Game.env_id == env_id).order_by(Game.id)).all()
        ready = session.exec(select(Submission.id).where(
            Submission.env_id == env_id, Submission.status == SubmissionStatus.READY)
            .order_by(Submission.id)).all()
        shown = set(session.exec(select(Submission.id).where(*current_versions(env_id))).all())
        encoded = encode_games(((a, b, s) for a, b, s in games), known=ready)
        fit = fit_bradley_terry(encoded.a_idx, encoded.b_idx, encoded.score, len(encoded.ids),
                                bootstrap=settings.bt_bootstrap, seed=seed,
                                min_games=settings.provisional_games)
        rated = [k for k, sub_id in enumerate(encoded.ids) if fit.games[k]]
        ranked = [k for k in rated if encoded.ids[k] in shown]
        rank_ub = dict(zip(ranked, rank_upper_bound(fit.ci_low[ranked], fit.ci_high[ranked]),
                           strict=True))
        subs = {s.id: s for s in lock_submissions(env_id, session=session)}
        for k, sub_id in enumerate(encoded.ids):
            sub = subs[sub_id]
            if fit.games[k]:
                estimate = (float(fit.rating[k]), float(fit.ci_low[k]), float(fit.ci_high[k]))
                rank = int(rank_ub[k]) if k in rank_ub else None
                if _moved(sub, estimate, rank):
                    session.add(BTEstimate(submission_id=sub.id, env_id=env_id,
                                           rating=estimate[0], low=estimate[1],
                                           high=estimate[2], rank_ub=rank or 0,
                                           games=int(fit.games[k]), at=now))
                sub.bt_rating, sub.bt_low, sub.bt_high = estimate
                sub.bt_rank_ub = rank
            else:  # no games: the prior's 1500 would read as a measurement
                sub.bt_rating = sub.bt_low = sub.bt_high = sub.bt_rank_ub = None
            session.add(sub)
        state = session.get(EnvState, env_id) or EnvState(env_id=env_id)
        state.bt_refreshed_at = now
        session.add(state)
    events.publish("bt_refreshed", env=env_id, players=len(encoded.ids), games=len(games))
    return len(encoded.ids)


def _moved(sub: Submission, estimate: tuple[float, float, float], rank: int | None) -> bool:
    """Whether a fit changed a submission's estimate (by a hundredth of a point or more)."""
    before = (sub.bt_rating, sub.bt_low, sub.bt_high)
    if None in before or rank != sub.bt_rank_ub:
        return True
    return any(abs(new - old) >= 0.01 for new, old in zip(estimate, before, strict=True))
