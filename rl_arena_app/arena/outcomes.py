"""Forfeit reasons and the errors that separate agent faults from infrastructure failures."""

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


class InfrastructureError(RuntimeError):
    """The platform failed (Docker unreachable, image build failed): not the agent's fault."""


class BadInput(ValueError):
    """The user's input is invalid (unknown env, unreadable or unsafe agent): exit 2, no retry."""


class BadAgent(BadInput):
    """An agent upload that cannot be accepted, with a message saying how to fix it."""
