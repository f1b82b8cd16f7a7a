"""The platform's logs: one line per record, as text or JSON, with what the record is about.

Requests, matches and builds set their ids with ``log_context``; every record logged inside
carries them (JSON fields ``request_id``, ``match_id``, ``submission_id``; a ``[match 12]`` tag in
text). Messages are cleaned with ``printable``: agents' and people's text cannot drive the
terminal of whoever reads the log. Credentials never reach a record: Reflex logs a failed event
with its router data, Cookie header included, so every record of the process is redacted when
it is made, whichever logger and handler write it.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
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
        if record.exc_info or record.exc_text:  # tracebacks quote what agents may write
            text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            record.exc_text, record.exc_info = printable(text, multiline=True), None
        return True


REDACTED = "[redacted]"
# A credential header's value in a dict or dataclass repr: 'cookie': '...', cookie='...'. A
# backslash always starts an escape and nothing else takes one: the text is matched in one pass
# (an ambiguous form took 30 s on 40 backslashes, and any websocket message can be logged).
_CREDENTIAL_HEADER = re.compile(
    r"""(?P<key>\b(?:cookie|set-cookie|authorization|proxy-authorization|x-api-key)['"]?"""
    r"""\s*[:=]\s*)(?P<quote>['"])(?:\\.|(?!(?P=quote))[^\\])*+(?P=quote)""", re.IGNORECASE)
# The platform's cookies (session, login flow), a bearer token written any other way, or an API
# token on its own.
_CREDENTIAL_TEXT = re.compile(r"(?P<key>\brl_arena_\w+=|\bBearer\s+|\b(?=rla_))[^\s;,'\"]+",
                              re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the values of credential headers, the session cookie and bearer tokens
    replaced by [redacted]."""
    text = _CREDENTIAL_HEADER.sub(lambda m: f"{m['key']}{m['quote']}{REDACTED}{m['quote']}",
                                  text)
    return _CREDENTIAL_TEXT.sub(lambda m: f"{m['key']}{REDACTED}", text)


def keep_credentials_out_of_logs() -> None:
    """Redact credentials from every log record this process makes, whichever logger and
    handler (Reflex's loggers chain to its own handlers or to the root); once per process."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts", False):
        return

    def redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad %-arguments: logging reports them when it emits
            return record
        if (cleaned := redact(message)) != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[0] and not record.exc_text:
            # Formatters use a record's exc_text as it is: the traceback, redacted once here.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        return record

    redacted_record.redacts = True
    logging.setLogRecordFactory(redacted_record)



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
    keep_credentials_out_of_logs()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(kind))
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

