"""What the CLI prints of text it did not write (an agent's, a person's, a remote arena's) is
printable: no escape sequence, control or bidi override reaches the terminal."""

from __future__ import annotations

import pytest

from rl_arena_app.cli import render_summary
from rl_arena_app.commands.common import clean, plain
from rl_arena_app.commands.ops import render_status
from rl_arena_app.commands.submit import _failed

DIRTY = "a\x1b[31mb\x1b[0m \x1b]0;title\x07c\u202ed\x00e\rf"
FORBIDDEN = ("\x1b", "\x07", "\x00", "\r", "\u202e", "[31m", "]0;", "title")


def assert_clean(text: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in text, f"{bad!r} in {text!r}"


def test_clean_and_plain_strip_what_a_terminal_obeys():
    assert clean(DIRTY) == "ab cde f"
    assert clean(DIRTY, multiline=True) == "ab cde\nf"
    assert plain(DIRTY).plain == "ab cde f"
    assert plain(None).plain == "-"


def test_a_remote_arenas_reason_and_log_tail_are_printed_clean(capsys):
    with pytest.raises(SystemExit) as exited:
        _failed(7, {"reason": DIRTY, "log_tail": f"{DIRTY}\n{DIRTY}"})
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert_clean(err)
    assert "error: submission 7 failed: ab cde f" in err
    assert "ab cde\nf\nab cde\nf" in err  # the log keeps its lines


def test_play_summary_names_and_forfeit_detail_are_clean():
    summary = {"env": "tictactoe", "sandbox": "process", "seed": 0, "duration_s": 0.1,
               "agents": [{"ref": DIRTY}, {"ref": "builtin:random"}], "points": [0.0, 1.0],
               "games": [{"first": 0, "winner": 1, "steps": 0,
                          "forfeit": {"agent": 0, "reason": "crash", "detail": DIRTY}}]}
    shown = render_summary(summary)
    assert_clean(shown)
    assert "ab cde f forfeits (crash)" in shown


def test_status_prints_worker_and_scheduler_names_clean():
    shown = render_status({"redis": "ok", "redis_url": "redis://x", "scheduler": DIRTY,
                           "workers": [{"name": DIRTY, "pid": 1, "state": "idle"}],
                           "queues": {}, "matches": {}, "submissions": {}, "games": 0,
                           "rating_events": 0, "matchmaking_paused": []})
    assert_clean(shown)
    assert "scheduler: ab cde f" in shown and "  ab cde f pid 1 idle" in shown
