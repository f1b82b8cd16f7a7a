"""A database missing this version's tables says what to run, and never shows a password."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from rl_arena_app.db.session import NotMigrated, not_migrated


def failed(url: str, exc: Exception) -> SimpleNamespace:
    """What SQLAlchemy hands an engine's handle_error hook (the two fields it reads)."""
    return SimpleNamespace(sqlalchemy_exception=exc, engine=SimpleNamespace(url=make_url(url)))


def test_a_missing_table_says_to_migrate_without_any_password():
    url = "postgresql+psycopg://arena:userinfo-pw@db/arena?password=query-pw&sslmode=require"
    missing = OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: users"))
    advice = not_migrated(failed(url, missing))
    assert isinstance(advice, NotMigrated)
    assert "rl-arena db upgrade" in str(advice) and "no such table: users" in str(advice)
    assert "userinfo-pw" not in str(advice) and "query-pw" not in str(advice)


def test_other_database_errors_are_left_alone():
    other = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
    locked = OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked"))
    assert not_migrated(failed("sqlite:///x.db", other)) is None
    assert not_migrated(failed("sqlite:///x.db", locked)) is None
