"""Parameters the routes share: ids the databases can hold, pages, and known environments."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from rl_arena_app.services import catalog
from rl_arena_app.services.errors import NotFound

MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id cannot exist, and must not reach SQL
MAX_OFFSET = 2**31 - 1


def id_in_path(what: str) -> object:
    """A positive id in the path."""
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id")


AgentId = Annotated[int, id_in_path("agent")]
MatchId = Annotated[int, id_in_path("match")]
SubmissionId = Annotated[int, id_in_path("submission (agent version)")]
EntryId = Annotated[int, id_in_path("audit entry")]
EnvId = Annotated[str, Path(max_length=100, description="An environment id, e.g. tictactoe")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]


def known_env(env_id: str) -> str:
    """The env id if the arena has it; NotFound naming the ones it has."""
    ids = catalog.env_ids()
    if env_id not in ids:
        raise NotFound(f"no environment {env_id!r}: use one of {', '.join(ids)}")
    return env_id
