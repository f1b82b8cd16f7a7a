"""Writes terminal escape sequences to stderr, then crashes with more in its exception text:
colours, a window title (OSC 0), clear screen, a hyperlink (OSC 8), a right-to-left override,
a carriage return and a NUL. Nothing of them may reach a terminal, a page or a stored row."""

import sys

sys.stderr.write("\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[H\x1b[31mstderr-tail\x1b[0m\r\n")
sys.stderr.flush()


def act(observation, info):
    raise RuntimeError(
        "boom \x1b[31mcoloured\x1b[0m \x1b]8;;https://evil.example/\x1b\\hyperlink\x1b]8;;\x1b\\ "
        "\u202etxt.exe\u202c \x1b[2J\x1b[3J cleared \x9b31m c1 carriage\rreturn nul\x00byte end")
