"""Bringing a platform up: its database's migrations, and the house agents (built-in agents in
every environment, so that a fresh arena is alive at once)."""

from __future__ import annotations

from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.arena.baselines import available
from rl_arena_app.db.migrate import downgrade, upgrade
from rl_arena_app.db.models import Agent, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts.users import ensure_house
from rl_arena_app.services.submissions.intake import submit
from rl_arena_app.settings import get_settings


def migrate_database(revision: str = "head") -> None:
    """Migrate the configured database up to ``revision`` (every migration by default)."""
    upgrade(get_settings().db_url, revision)


def unmigrate_database(revision: str) -> None:
    """Migrate the configured database down to ``revision`` ("base" empties it)."""
    downgrade(get_settings().db_url, revision)


def house_agents(env: envs.EnvSpec) -> list[str]:
    """Built-in agents the house enters in `env`: random everywhere, every baseline in duels."""
    if env.kind == "solo":
        return ["random"]
    return sorted(available(env.id), key=lambda name: name != "random")


def seed_house_agents(*, enqueue: bool = True) -> list[int]:
    """Submit the missing house agents of every env; return the new submission ids."""
    with session_scope() as session:
        user = ensure_house(session=session)
        existing = set(session.exec(select(Agent.env_id, Agent.name)
                                    .join(User, User.id == Agent.owner_id)
                                    .where(User.id == user.id)).all())
    created = []
    for env in envs.list_envs():
        for name in house_agents(env):
            if (env.id, name) not in existing:
                submission = submit(f"builtin:{name}", env_id=env.id, name=name, house=True,
                                    enqueue=enqueue)
                created.append(submission.id)
    return created


def seed_if_new() -> list[int]:
    """Seed the house agents when the arena has never been seeded; the new submission ids."""
    with session_scope() as session:
        seeded = session.exec(select(User.id).where(User.is_house)).first() is not None
    return [] if seeded else seed_house_agents()
