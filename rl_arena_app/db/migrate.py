"""Apply Alembic migrations from code (`rl-arena db upgrade`, `rl-arena up`, tests).

alembic.ini and alembic/ are the checkout's; an installed (non-editable) package, such as the app
image's, finds them in the current directory (the image's /app).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.settings import get_settings

CHECKOUT = Path(__file__).resolve().parents[2]


def migrations_home() -> Path:
    """The folder with alembic.ini and alembic/: the checkout, else the current directory."""
    home = next((folder for folder in (CHECKOUT, Path.cwd())
                 if (folder / "alembic.ini").is_file() and (folder / "alembic").is_dir()), None)
    if home is None:
        raise InfrastructureError("the migrations (alembic.ini, alembic/) are neither in the "
                                  "checkout nor in the current directory: run this from a "
                                  "checkout of the repository (the app image has them in /app)")
    return home


def alembic_config(url: str | None = None) -> Config:
    """Alembic config of this repository, bound to ``url`` (default: the configured one)."""
    home = migrations_home()
    config = Config(str(home / "alembic.ini"))
    config.set_main_option("script_location", str(home / "alembic"))
    config.attributes["url"] = url or get_settings().db_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate the database down to ``revision``."""
    command.downgrade(alembic_config(url), revision)
