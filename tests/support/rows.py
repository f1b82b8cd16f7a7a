"""Reading the test's database back: one row, all rows of a table, how many rows match."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select

from rl_arena_app.db.session import session_scope


def fetch(model: Any, key: Any) -> Any:
    """The row of ``model`` with primary key ``key`` (None if there is none)."""
    with session_scope() as session:
        return session.get(model, key)


def count(model: Any, *where: Any) -> int:
    """How many rows of ``model`` match every condition in ``where``."""
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def all_rows(model: Any) -> list[Any]:
    """Every row of ``model``, in id order."""
    with session_scope() as session:
        return list(session.exec(select(model).order_by(model.id)).all())
