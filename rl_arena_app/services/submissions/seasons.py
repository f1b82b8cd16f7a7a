"""Scoring seasons of solo environments: the per-env counter in the database and the secret seeds
of its scoring run (practice keeps the env's public seeds)."""

from __future__ import annotations

from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.arena.scoring_seeds import (
    EpisodeSeeds,
    scoring_key,
    scoring_run_seed,
    scoring_seeds,
)
from rl_arena_app.db.models import AuditEntry, EnvState
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput
from rl_arena_app.settings import get_settings

FIRST_SEASON = 1
NEW_SEASON_ACTION = "new-season"  # the admin action (services.admin.actions) that calls us


def current_season(env_id: str) -> int:
    """The season ``env_id`` scores in (the first until an admin starts another)."""
    with session_scope() as session:
        state = session.get(EnvState, env_id)
        return FIRST_SEASON if state is None else state.season


def start_new_season(env_id: str) -> int:
    """Move a solo env to its next season (new secret seeds); the new season's number.

    Once per running new-season action (at most one runs per env): when its worker died and the
    action runs again, the season it started is the one it goes on with.
    """
    if envs.spec(env_id).kind != "solo":
        raise BadInput(f"{env_id} is a duel environment: seasons of secret scoring seeds are "
                       "for solo environments")
    with session_scope() as session:
        action = session.exec(select(AuditEntry.id).where(
            AuditEntry.action == NEW_SEASON_ACTION, AuditEntry.target == env_id,
            AuditEntry.outcome == "running")).first()
        state = session.get(EnvState, env_id) or EnvState(env_id=env_id)
        if action is not None and state.season_started_by == action:
            return state.season
        state.season = (state.season or FIRST_SEASON) + 1
        state.season_started_by = action
        session.add(state)
        return state.season


def season_run_seed(env: envs.EnvSpec, season: int) -> int:
    """The seed labelling the env's scoring run in ``season`` (secret while it runs)."""
    return scoring_run_seed(scoring_key(get_settings().secret_key), env.id, season)


def season_episode_seeds(env: envs.EnvSpec, season: int) -> list[EpisodeSeeds]:
    """The env's secret scoring episodes in ``season``."""
    return scoring_seeds(scoring_key(get_settings().secret_key), env.id, season, env.episodes)


def is_secret(replay_env: str, replay_season: int | None) -> bool:
    """Whether a stored run's seeds are still secret: it played the env's running season."""
    return replay_season is not None and replay_season == current_season(replay_env)
