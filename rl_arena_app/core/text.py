"""Text a person typed: find what must never be stored or shown raw (control characters)."""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls (newlines, terminal escapes); Cf: format characters such as bidi overrides
# (U+202E makes "gpj.exe" read as "exe.jpg"); Zl/Zp: line and paragraph separators;
# Cs/Co/Cn: surrogates, private-use and unassigned code points.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def first_control_character(text: str) -> str | None:
    """The first character of ``text`` that is a control or invisible format character."""
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return char
    return None


def describe_character(char: str) -> str:
    """A character as a person can read it in a message, e.g. ``U+000A (LINE FEED)``."""
    name = unicodedata.name(char, "") or {"\n": "LINE FEED", "\r": "CARRIAGE RETURN",
                                          "\t": "TAB", "\x1b": "ESCAPE"}.get(char, "control")
    return f"U+{ord(char):04X} ({name})"
