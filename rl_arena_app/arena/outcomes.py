"""Forfeit reasons, the errors that separate agent faults from infrastructure failures, and
how a fault reads for people."""

from __future__ import annotations

import re
from enum import StrEnum

from rl_arena_app.core.text import printable

# How the harness (jobs/sandbox/harness) puts the agent's last output after a traceback.
OUTPUT_MARK = "\n--- agent output (tail) ---\n"
_FRAME = re.compile(r'  File "(?P<file>[^"]*)", line \d+')
_CHAINED = re.compile(r"^(?:During handling of the above exception, another exception occurred|"
                      r"The above exception was the direct cause of the following exception):$",
                      re.MULTILINE)


class Reason(StrEnum):
    """Why an agent forfeited a game."""

    TIMEOUT = "timeout"
    ILLEGAL_ACTION = "illegal_action"
    CRASH = "crash"
    PROTOCOL_ERROR = "protocol_error"
    RESOURCE_LIMIT = "resource_limit"


class AgentFault(Exception):
    """The agent broke a rule; it forfeits.

    `fatal`: its sandbox can no longer be trusted and is replaced before the next game.
    `died`: its sandbox is gone (crashed, killed); it forfeits the rest of the run.
    """

    def __init__(self, reason: Reason, detail: str, *, fatal: bool = True,
                 died: bool = False) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = Reason(reason)
        self.detail = detail
        self.fatal = fatal or died
        self.died = died


def move_timeout(allowed_s: float, *, late_by_s: float | None = None) -> AgentFault:
    """The forfeit of an agent whose answer was not received within the `allowed_s` it had.

    `late_by_s`: the answer did arrive, that much too late; the channel is still in step, so the
    sandbox may be kept. Without it, the answer may yet come and be taken for the next one's.
    """
    detail = f"no action within {allowed_s:.3f}s (move limit plus what was left of the time bank)"
    if late_by_s is None:
        return AgentFault(Reason.TIMEOUT, detail)
    return AgentFault(Reason.TIMEOUT, f"{detail}: the answer came {late_by_s * 1000:.3f} ms late",
                      fatal=False)


class InfrastructureError(RuntimeError):
    """The platform failed (Docker unreachable, image build failed): not the agent's fault."""


class BadInput(ValueError):
    """The user's input is invalid (unknown env, unreadable or unsafe agent): exit 2, no retry."""


class BadAgent(BadInput):
    """An agent upload that cannot be accepted, with a message saying how to fix it."""


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


class NotFound(BadInput):
    """What was asked for does not exist (an unknown agent, match or submission id)."""


def _indented_end(lines: list[str], start: int, indent: str) -> int:
    """The index of the first line from `start` on that does not begin with `indent`."""
    end = start
    while end < len(lines) and lines[end].startswith(indent):
        end += 1
    return end
