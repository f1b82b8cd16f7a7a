"""The errors front ends catch, with the HTTP status each one means."""

from __future__ import annotations

from datetime import datetime

from rl_arena_app.arena.outcomes import BadAgent, BadInput, InfrastructureError, NotFound

__all__ = ["BadAgent", "BadInput", "Conflict", "InfrastructureError", "LimitExceeded",
           "NotAllowed", "NotFound", "NotSignedIn", "http_status"]


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
