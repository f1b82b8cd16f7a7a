"""Apply Alembic migrations from code (`rl-arena db upgrade`, `rl-arena up`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command
from rl_arena_app.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str | None = None) -> Config:
    """Alembic config of this repository, bound to ``url`` (default: the configured one)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["url"] = url or get_settings().db_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate the database down to ``revision``."""
    command.downgrade(alembic_config(url), revision)
