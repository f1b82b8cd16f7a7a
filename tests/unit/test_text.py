"""Text from agents and people, cleaned before a terminal, a page or a log shows it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rl_arena_app.core.text import first_control_character, printable, printable_or_none


@pytest.mark.parametrize(("raw", "line", "lines"), [
    ("a\x1b[31mred\x1b[0m b", "ared b", "ared b"),  # colours: the whole sequence goes
    ("\x1b]0;pwned\x07ok", "ok", "ok"),  # a window title (OSC)
    ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link", "link"),  # a hyperlink (OSC 8)
    ("\x9b2Jz", "z", "z"),  # C1 CSI: clear screen
    ("\x1bc reset", " reset", " reset"),  # a two-character escape
    ("invoice\u202egpj.exe", "invoicegpj.exe", "invoicegpj.exe"),  # bidi override
    ("zero\u200bwidth\ufeff", "zerowidth", "zerowidth"),
    ("one\r\ntwo\rthree\u2028four", "one two three four", "one\ntwo\nthree\nfour"),
    ("tab\there\x00\x07", "tab here", "tab\there"),
    ("café 😀 日本", "café 😀 日本", "café 😀 日本"),
])
def test_printable_strips_what_a_terminal_or_page_would_obey(raw, line, lines):
    assert printable(raw) == line
    assert printable(raw, multiline=True) == lines


@given(st.text())
def test_printable_leaves_no_control_or_format_character(text):
    assert first_control_character(printable(text)) is None
    assert set(printable(text, multiline=True)) & {"\x1b", "\r", "\u202e"} == set()
    assert all(c in "\n\t" or first_control_character(c) is None
               for c in printable(text, multiline=True))


def test_printable_or_none_passes_an_unset_field_through():
    assert printable_or_none(None) is None
    assert printable_or_none("a\x1b[2J\rb", multiline=True) == "a\nb"
