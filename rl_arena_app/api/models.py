"""The API's own response models: public cuts of the read models, and the submitter's view."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from rl_arena_app.services.read_models import (
    Account,
    LeaderboardPage,
    LeaderboardRow,
    MyAgent,
    Quota,
    TokenView,
)

PRIVATE_FIELDS = frozenset({"owner_email"})  # people's emails never leave through public routes


def public(model: type, name: str, replaced: dict[str, Any] | None = None) -> type:
    """A frozen dataclass like ``model`` without its private fields (and with some replaced)."""
    hints = typing.get_type_hints(model)
    replaced = replaced or {}
    fields = [(f.name, replaced.get(f.name, hints[f.name])) for f in dataclasses.fields(model)
              if f.name not in PRIVATE_FIELDS]
    made = dataclasses.make_dataclass(name, fields, frozen=True, slots=True)
    made.__doc__ = f"{model.__doc__} (public: no emails)"
    made.__module__ = __name__
    return made


PublicLeaderboardRow = public(LeaderboardRow, "PublicLeaderboardRow")
PublicLeaderboardPage = public(LeaderboardPage, "PublicLeaderboardPage",
                               {"rows": list[PublicLeaderboardRow]})


@dataclasses.dataclass(frozen=True, slots=True)
class EnvQuota:
    """A submitter's daily submissions to one environment."""

    env_id: str
    submissions_today: Quota


@dataclasses.dataclass(frozen=True, slots=True)
class Me:
    """The token's account (no secrets), what the token may do, the limits and the agents."""

    account: Account
    token_scope: str  # submit, or admin (an admin's token that administers too)
    active_agents: Quota
    daily_submissions: list[EnvQuota]
    max_upload_mb: int
    agents: list[MyAgent]
    tokens: list[TokenView]
