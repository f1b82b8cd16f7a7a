"""Forfeit reasons and the fault that makes an agent forfeit."""

from __future__ import annotations

from enum import StrEnum


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
