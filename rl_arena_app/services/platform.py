"""Bringing a platform's database up: migrations, and the demo seed on its first start."""

from __future__ import annotations

from sqlmodel import select

from rl_arena_app.db.migrate import downgrade, upgrade
from rl_arena_app.db.models import User
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.seed import seed_house_agents
from rl_arena_app.settings import get_settings


def migrate_database(revision: str = "head") -> None:
    """Migrate the configured database up to ``revision`` (every migration by default)."""
    upgrade(get_settings().db_url, revision)


def unmigrate_database(revision: str) -> None:
    """Migrate the configured database down to ``revision`` ("base" empties it)."""
    downgrade(get_settings().db_url, revision)


def seed_if_new() -> list[int]:
    """Seed the house agents when the arena has never been seeded; the new submission ids."""
    with session_scope() as session:
        seeded = session.exec(select(User.id).where(User.is_house)).first() is not None
    return [] if seeded else seed_house_agents()
