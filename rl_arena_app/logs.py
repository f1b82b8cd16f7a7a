"""The platform's logs: one line per record, as text or JSON, with what the record is about.

Requests, matches and builds set their ids with ``log_context``; every record logged inside
carries them (JSON fields ``request_id``, ``match_id``, ``submission_id``; a ``[match 12]`` tag in
text). Messages are cleaned with ``printable``: agents' and people's text cannot drive the
terminal of whoever reads the log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from rl_arena_app.core.text import printable

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"
JSON_FIELDS = ("levelname", "name", "message")
CONTEXT_FIELDS = ("request_id", "match_id", "submission_id")
_TAGS = {"request_id": "request", "match_id": "match", "submission_id": "submission"}
# Libraries that log one line per routine event at INFO.
QUIET_LOGGERS = ("apscheduler",)

_TRACEBACKS = logging.Formatter()
_context: ContextVar[dict[str, Any]] = ContextVar("rl_arena_log_context", default={})  # noqa: B039


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Records logged inside carry ``fields`` (e.g. ``match_id=12``) besides the outer ones."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    """The ids the records logged here would carry."""
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Adds the context's ids to each record and cleans its message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach ids, clean the message; never drops a record."""
        context = _context.get()
        for field in CONTEXT_FIELDS:
            if context.get(field) is not None:
                setattr(record, field, context[field])
        record.context = "".join(f" [{_TAGS[f]} {context[f]}]" for f in CONTEXT_FIELDS
                                 if context.get(f) is not None)
        record.msg, record.args = printable(record.getMessage(), multiline=True), None
        if record.exc_info:  # a traceback quotes exception messages, which agents may write
            record.exc_text = printable(_TRACEBACKS.formatException(record.exc_info),
                                        multiline=True)
            record.exc_info = None
        return True


def formatter(kind: Literal["text", "json"]) -> logging.Formatter:
    """The formatter of RL_ARENA_LOG_FORMAT."""
    if kind == "json":
        return JsonFormatter(list(JSON_FIELDS), rename_fields={"levelname": "level",
                                                               "name": "logger"},
                             reserved_attrs=[*RESERVED_ATTRS, "context"], timestamp="time")
    return logging.Formatter(TEXT_FORMAT)


def handler(kind: Literal["text", "json"]) -> logging.Handler:
    """A stderr handler in the given format, with the context filter."""
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(formatter(kind))
    out.addFilter(ContextFilter())
    return out


def configure(kind: Literal["text", "json"], level: int = logging.INFO) -> None:
    """Send every logger's records to stderr in the given format (replaces root handlers)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(kind))
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

