"""The platform's log lines: text or JSON, with the ids of what they are about, cleaned."""

from __future__ import annotations

import json
import logging

import pytest

from rl_arena_app import logs


@pytest.fixture
def root_logger():
    """Give the root logger back as it was after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_context_ids_and_clean_messages(root_logger, capsys):
    logs.configure("json")
    log = logging.getLogger("rl_arena.test")
    with logs.log_context(request_id="r-1"), logs.log_context(match_id=12):
        log.info("agent said %s", "\x1b]0;pwned\x07hi\u202e there")
    log.warning("outside")
    try:
        raise RuntimeError("\x1b[31mred")
    except RuntimeError:
        log.exception("failed")
    first, second, third = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["message"] == "agent said hi there"
    assert (first["level"], first["logger"]) == ("INFO", "rl_arena.test")
    assert (first["request_id"], first["match_id"]) == ("r-1", 12)
    assert "submission_id" not in first and "context" not in first and "time" in first
    assert "request_id" not in second and "match_id" not in second
    assert "RuntimeError: red" in third["exc_info"] and "\x1b" not in third["exc_info"]


def test_text_lines_tag_the_context_and_keep_tracebacks(root_logger, capsys):
    logs.configure("text")
    log = logging.getLogger("rl_arena.test")
    with logs.log_context(submission_id=7):
        try:
            raise ValueError("bad\x1b[2J")
        except ValueError:
            log.exception("build failed")
    err = capsys.readouterr().err
    assert "ERROR rl_arena.test [submission 7]: build failed" in err
    assert "Traceback" in err and "ValueError: bad" in err and "\x1b" not in err


def test_the_context_ends_with_its_block():
    with logs.log_context(match_id=1):
        with logs.log_context(submission_id=2):
            assert logs.current_context() == {"match_id": 1, "submission_id": 2}
        assert logs.current_context() == {"match_id": 1}
    assert logs.current_context() == {}


def test_configured_lines_never_show_a_credential(root_logger, capsys):
    logs.configure("json")
    log = logging.getLogger("reflex_base.event.processor")
    try:
        raise KeyError("no handler; headers {'cookie': 'rl_arena_session=c2VjcmV0.sig'}")
    except KeyError:
        log.exception("failed: Authorization: Bearer rla_tokenvalue0123456789")
    line = json.loads(capsys.readouterr().err)
    assert "c2VjcmV0" not in line["exc_info"] and "KeyError" in line["exc_info"]
    assert "rla_tokenvalue" not in line["message"] and logs.REDACTED in line["message"]
