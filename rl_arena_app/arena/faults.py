"""How an agent's fault reads for people: the last frame of its own code, then the exception."""

from __future__ import annotations

import re

from rl_arena_app.core.text import printable

# How the harness (jobs/sandbox/harness) puts the agent's last output after a traceback.
OUTPUT_MARK = "\n--- agent output (tail) ---\n"
_FRAME = re.compile(r'  File "(?P<file>[^"]*)", line \d+')
_CHAINED = re.compile(r"^(?:During handling of the above exception, another exception occurred|"
                      r"The above exception was the direct cause of the following exception):$",
                      re.MULTILINE)


def fault_summary(detail: str) -> str:
    """Where an agent failed, in a few lines for people.

    For a Python traceback (the last one of a chain): the last frame in the agent's own code
    (`File "agent.py", line 4, in act`, the line, any caret), then the exception; a frame of a
    library (`<site-packages>/...`, `<stdlib>/...`) only if no frame of the agent's is left.
    The agent's output is left out. Any other detail comes back as it is, stripped. Either way
    the text is ``printable``: the agent wrote it, and a terminal or a page will show it.
    """
    detail = printable(detail, multiline=True)
    lines = _CHAINED.split(detail.split(OUTPUT_MARK, 1)[0])[-1].strip("\n").splitlines()
    frames = [i for i, line in enumerate(lines) if _FRAME.match(line)]
    if not frames:
        return detail.strip()
    own = [i for i in frames if not _FRAME.match(lines[i])["file"].startswith(("<", "/"))]
    start = (own or frames)[-1]
    where = lines[start:_indented_end(lines, start + 1, "    ")]
    exception = lines[_indented_end(lines, frames[-1] + 1, "  "):]
    return "\n".join([line[2:] for line in where] + exception)


def fault_line(detail: str) -> str:
    """The failure in one line, e.g. ``SyntaxError: expected ':' (agent.py, line 4)``.

    A traceback's whole exception comes first, its lines joined, so that a message of several
    lines cannot hide the exception's type; any other detail gives its last line.
    """
    lines = [line for line in fault_summary(detail).splitlines() if line.strip()]
    if not lines:
        return ""
    if _FRAME.match("  " + lines[0]) is None or len(lines) == 1:
        return printable(lines[-1]).strip()
    exception = lines[_indented_end(lines, 1, "  "):] or lines[-1:]
    location = lines[0].strip().removeprefix("File ").replace('"', "")
    return printable(f"{' '.join(line.strip() for line in exception)} ({location})")


def _indented_end(lines: list[str], start: int, indent: str) -> int:
    """The index of the first line from `start` on that does not begin with `indent`."""
    end = start
    while end < len(lines) and lines[end].startswith(indent):
        end += 1
    return end
