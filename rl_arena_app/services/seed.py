"""The demo seed: house agents in every environment, so a fresh arena is alive at once."""

from __future__ import annotations

from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.arena.baselines import available
from rl_arena_app.db.models import Agent, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts.users import ensure_house
from rl_arena_app.services.submissions.intake import submit


def house_agents(env: envs.EnvSpec) -> list[str]:
    """Built-in agents the house enters in `env`: random everywhere, every baseline in duels."""
    if env.kind == "solo":
        return ["random"]
    return sorted(available(env.id), key=lambda name: name != "random")


def seed_house_agents(*, enqueue: bool = True) -> list[int]:
    """Submit the missing house agents of every env; return the new submission ids."""
    with session_scope() as session:
        user = ensure_house(session)
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
