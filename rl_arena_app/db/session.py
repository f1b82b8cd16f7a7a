"""Database engine and sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, create_engine

from rl_arena_app.errors import InfrastructureError
from rl_arena_app.settings import get_settings

# A table or a column this version uses is missing: PostgreSQL's SQLSTATEs (undefined table,
# undefined column) and the start of SQLite's messages.
_NOT_MIGRATED_STATES = frozenset({"42P01", "42703"})
_NOT_MIGRATED_SQLITE = re.compile(r"no such (table|column)|table \S+ has no column named")


class NotMigrated(InfrastructureError):
    """The database lacks tables or columns this version uses; the message says what to run."""


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL; SQLite gets WAL and a busy timeout so workers can share the file."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
    else:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", not_migrated)
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    """WAL lets readers run beside one writer; foreign keys are off by default in SQLite."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine() -> Engine:
    """The engine of the configured database."""
    return engine_for(get_settings().db_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def not_migrated(context: ExceptionContext) -> NotMigrated | None:
    """NotMigrated saying what to run when a statement failed for a missing table or column
    (never migrated, or migrated by an older version); None for any other failure (an engine
    "handle_error" hook: the exception it returns is raised instead)."""
    exc = context.sqlalchemy_exception
    if not isinstance(exc, OperationalError | ProgrammingError):
        return None
    said = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
    if (getattr(exc.orig, "sqlstate", None) not in _NOT_MIGRATED_STATES
            and not _NOT_MIGRATED_SQLITE.match(said)):
        return None
    url = context.engine.url if context.engine is not None else make_url(get_settings().db_url)
    where = url.set(query={}).render_as_string(hide_password=True)  # no password, wherever
    return NotMigrated(f"the database {where} is not migrated to this version of rl-arena "
                       f"({said}): run `rl-arena db upgrade` (`make run` and `rl-arena up` "
                       "migrate it too)")
