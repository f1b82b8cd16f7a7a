"""The app's error types, the one place every layer takes them from, and the HTTP status of each."""

from __future__ import annotations

from datetime import datetime


class InfrastructureError(RuntimeError):
    """The platform failed (Docker unreachable, image build failed): not the agent's fault."""


class BadInput(ValueError):
    """The user's input is invalid (unknown env, unreadable or unsafe agent): exit 2, no retry."""


class BadAgent(BadInput):
    """An agent upload that cannot be accepted, with a message saying how to fix it."""


class NotFound(BadInput):
    """What was asked for does not exist (an unknown agent, match or submission id)."""


class NotSignedIn(BadInput):
    """The action needs a login (or an API token)."""


class NotAllowed(BadInput):
    """The account may not do this (not its agent, not an admin)."""


class Conflict(BadInput):
    """The action does not fit the current state (e.g. the agent is already retired)."""


class LimitExceeded(BadInput):
    """A submitter's limit is reached; it frees up at ``resets_at`` (None: when one is freed)."""

    def __init__(self, message: str, resets_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resets_at = resets_at


def http_status(error: BadInput) -> int:
    """The HTTP status of a refusal: 401, 403, 404, 409, 429, else 400 (bad input)."""
    for kind, code in ((NotSignedIn, 401), (NotAllowed, 403), (NotFound, 404), (Conflict, 409),
                       (LimitExceeded, 429)):
        if isinstance(error, kind):
            return code
    return 400
