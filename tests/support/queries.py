"""The SQL the engine sends while a test watches, with the first SELECT held or failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from rl_arena_app.db.session import get_engine


class Outage(Exception):
    """The database failing a query (raised from the engine's own execution hook)."""


@contextmanager
def snapshot_queries(hold_s: float = 0.0, fail: bool = False) -> Iterator[list[str]]:
    """The SELECTs the engine sends meanwhile; the first is held ``hold_s`` (then fails with
    ``fail``), as a slow or failing database would."""
    sent: list[str] = []
    lock = threading.Lock()

    def before(_conn, _cursor, statement, *_rest) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            return
        with lock:
            sent.append(statement)
            first = len(sent) == 1
        if first:
            time.sleep(hold_s)
            if fail:
                raise Outage("database unavailable")

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", before)
