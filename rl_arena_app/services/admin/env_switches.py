"""Admin actions per environment: enable or disable it, pause or resume its matchmaking."""

from __future__ import annotations

from rl_arena_app.arena import envs
from rl_arena_app.db.models import EnvState
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput
from rl_arena_app.services.events import publish


def _set_env_state(env_id: str, event: str, **fields: bool) -> EnvState:
    """Set fields of an env's state row (created on first use) and announce the change."""
    with session_scope() as session:
        state = session.get(EnvState, env_id) or EnvState(env_id=env_id)
        for key, value in fields.items():
            setattr(state, key, value)
        session.add(state)
    publish(event, env=env_id, **fields)
    return state


def set_matchmaking_paused(env_id: str, paused: bool) -> EnvState:
    """Pause or resume matchmaking of a duel env; unknown or solo envs are bad input."""
    if envs.spec(env_id).kind != "duel":
        raise BadInput(f"{env_id} is a solo environment: it has no matchmaking")
    return _set_env_state(env_id, "matchmaking", matchmaking_paused=paused)


def pause_matchmaking(env_id: str) -> EnvState:
    """Stop creating matches in ``env_id`` (queued and running ones still play)."""
    return set_matchmaking_paused(env_id, True)


def resume_matchmaking(env_id: str) -> EnvState:
    """Create matches in ``env_id`` again from the next tick."""
    return set_matchmaking_paused(env_id, False)


def set_env_enabled(env_id: str, enabled: bool) -> EnvState:
    """Enable or disable an env: a disabled one takes no submissions and makes no matches."""
    envs.spec(env_id)
    return _set_env_state(env_id, "env", enabled=enabled)


def env_enabled(env_id: str) -> bool:
    """Whether ``env_id`` takes submissions and matches (envs are enabled unless disabled)."""
    with session_scope() as session:
        state = session.get(EnvState, env_id)
        return state is None or state.enabled
