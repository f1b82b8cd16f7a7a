"""Alembic environment: SQLModel's metadata, the URL from Settings (or the caller's config)."""

from __future__ import annotations

from sqlmodel import SQLModel

import rl_arena_app.db.models  # noqa: F401  (registers every table on SQLModel.metadata)
from alembic import context
from rl_arena_app.db.session import engine_for
from rl_arena_app.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    """The URL passed by `rl_arena_app.db.migrate`, else the configured one."""
    return config.attributes.get("url") or get_settings().db_url


def run_migrations_offline() -> None:
    """Emit SQL without a connection (`alembic upgrade head --sql`)."""
    context.configure(url=database_url(), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through a live connection; SQLite alters tables in batch mode."""
    with engine_for(database_url()).connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
