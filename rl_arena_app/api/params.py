"""Parameters the routes share: ids that can exist, pages, and known environments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Query

from rl_arena_app.errors import NotFound
from rl_arena_app.services.environments import env_ids
from rl_arena_app.services.ids import MAX_ID

MAX_OFFSET = 2**31 - 1


def id_in_path(name: str, what: str) -> Callable[[int], int]:
    """A positive id in the path (``name``); NotFound past the ids the database can hold, like
    any id that names nothing (such a number must not reach SQL)."""

    # Path() as the default: an annotation would be a string here, naming this closure's locals
    def existing(value: int = Path(alias=name, ge=1, description=f"The {what}'s id")) -> int:
        if value > MAX_ID:
            raise NotFound(f"no {what} {value}")
        return value

    return existing


AgentId = Annotated[int, Depends(id_in_path("agent_id", "agent"))]
MatchId = Annotated[int, Depends(id_in_path("match_id", "match"))]
SubmissionId = Annotated[int, Depends(id_in_path("submission_id", "submission"))]
EntryId = Annotated[int, Depends(id_in_path("entry_id", "audit entry"))]
EnvId = Annotated[str, Path(max_length=100, description="An environment id, e.g. tictactoe")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]


def known_env(env_id: str) -> str:
    """The env id if the arena has it; NotFound naming the ones it has."""
    ids = env_ids()
    if env_id not in ids:
        raise NotFound(f"no environment {env_id!r}: use one of {', '.join(ids)}")
    return env_id
