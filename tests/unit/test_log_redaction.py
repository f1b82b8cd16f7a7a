"""Credentials never reach a log line of the web process: the session cookie, credential headers
and bearer tokens are redacted from messages and tracebacks, whichever logger writes them."""

from __future__ import annotations

import io
import logging

import pytest

from rl_arena_app.logs import REDACTED, keep_credentials_out_of_logs, redact

COOKIE = "rl_arena_session=ImFiYyI.c2lnbmF0dXJl"


@pytest.mark.parametrize("text", [
    # how Reflex shows a failed event: its router data's headers, a dict
    f"Event(name='x.y', router_data={{'headers': {{'host': 'h', 'cookie': '{COOKIE}; a=b'}}}})",
    f"HeaderData(host='h', cookie='{COOKIE}', origin='o')",  # the state's router headers
    f'{{"Cookie": "{COOKIE}"}}',
    f"raw header Cookie: {COOKIE}; theme=dark",
    "{'authorization': 'Bearer rla_abcdefghijklmnopqrstuvwxyz0123456789ABCD'}",
    "sent Authorization: Bearer rla_abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "{'cookie': 'it\\'s ImFiYyI.c2lnbmF0dXJl quoted'}",
])
def test_credentials_are_redacted_however_they_are_written(text):
    cleaned = redact(text)
    assert "c2lnbmF0dXJl" not in cleaned and "rla_" not in cleaned, cleaned
    assert REDACTED in cleaned


def test_other_text_is_left_alone():
    text = "Event(name='x.y', router_data={'headers': {'host': 'localhost:3000'}}) cookies: 3"
    assert redact(text) == text


def test_every_logger_of_the_process_writes_redacted_records():
    keep_credentials_out_of_logs()
    installed = logging.getLogRecordFactory()
    keep_credentials_out_of_logs()  # once per process: a second call does not wrap it again
    assert logging.getLogRecordFactory() is installed
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("reflex_base.event.processor.somewhere")
    logger.addHandler(handler)
    try:
        logger.error("Error processing event %s:", {"headers": {"cookie": COOKIE}})
        try:
            raise KeyError(f"no handler for {COOKIE}")
        except KeyError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "Error processing event" in written and "KeyError" in written
    assert "c2lnbmF0dXJl" not in written


@pytest.mark.timeout(30)  # a hang guard, not a speed test: 40 backslashes took 30 s before
@pytest.mark.parametrize("text", [
    "{'cookie': '" + "\\" * 100_000 + "x",
    "Event(payload={'x': 'cookie=\"" + "\\" * 100_000 + "x'})",
    "authorization='" + "\\'" * 50_000,
])
def test_redaction_reads_hostile_text_in_one_pass(text):
    assert redact(text).startswith(text[:8])


def test_an_api_token_on_its_own_is_redacted():
    assert redact("tried rla_abcdefghijklmnopqrstuvwxyz0123456789 twice") == \
        f"tried {REDACTED} twice"
