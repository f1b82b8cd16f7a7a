"""Text a person or an agent wrote: find what must never be stored or shown raw, or strip it."""

from __future__ import annotations

import re
import unicodedata

# Cc: C0/C1 controls (newlines, terminal escapes); Cf: format characters such as bidi overrides
# (U+202E makes "gpj.exe" read as "exe.jpg"); Zl/Zp: line and paragraph separators;
# Cs/Co/Cn: surrogates, private-use and unassigned code points.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# Whole terminal escape sequences (CSI, OSC, DCS/SOS/PM/APC strings, two-character escapes), so
# that stripping ESC does not leave "[31m" behind; C1 forms (U+009B CSI...) included.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")


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


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` safe for a terminal, a page or a log: escape sequences, controls and bidi or
    other invisible format characters removed; line breaks become spaces, or, with
    ``multiline``, plain newlines (tabs are kept there too)."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _LINE_BREAKS.sub("\n", text)
    kept = "\n\t" if multiline else ""
    return "".join(
        char if char in kept
        else " " if char in "\n\t"
        else "" if unicodedata.category(char) in _FORBIDDEN_CATEGORIES
        else char
        for char in text)


def printable_or_none(text: str | None, *, multiline: bool = False) -> str | None:
    """``printable(text)``, with None (a field that is not set) passed through."""
    return None if text is None else printable(text, multiline=multiline)
