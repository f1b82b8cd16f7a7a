"""Read routes: what the dashboard shows, for anyone, no token needed."""

from __future__ import annotations

import dataclasses
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from rl_arena_app.api import PREFIX
from rl_arena_app.api.errors import ApiRoute, error_responses, public
from rl_arena_app.api.params import (
    MAX_ID,
    AgentId,
    EnvId,
    MatchId,
    Offset,
    SubmissionId,
    known_env,
)
from rl_arena_app.services import catalog, status
from rl_arena_app.services.matches import replays, views
from rl_arena_app.services.read_models import (
    AgentView,
    EnvCard,
    EnvGuide,
    MatchDetail,
    MatchPage,
    RatingHistory,
    StatusView,
    SubmissionView,
)
from rl_arena_app.services.submissions import agents

T = TypeVar("T")
router = APIRouter(prefix=PREFIX, route_class=ApiRoute, tags=["read"],
                   responses=error_responses(422, 503))
NOT_FOUND = error_responses(404)


@router.get("/envs", summary="Every environment, with its matchmaking state and leader")
def list_envs() -> list[EnvCard]:
    return catalog.env_cards()


@router.get("/envs/{env_id}", summary="One environment", responses=NOT_FOUND)
def get_env(env_id: EnvId) -> EnvCard:
    return catalog.env_card(known_env(env_id))


@router.get("/envs/{env_id}/guide", responses=NOT_FOUND,
            summary="How to write an agent for the environment, with a starter agent")
def get_env_guide(env_id: EnvId) -> EnvGuide:
    return catalog.env_guide(known_env(env_id))


@router.get("/agents/{agent_id}", responses=NOT_FOUND,
            summary="An agent with every version, its records and its recent matches")
def get_agent(agent_id: AgentId) -> AgentView:
    return agents.agent_view(agent_id)


@router.get("/agents/{agent_id}/ratings", responses=NOT_FOUND,
            summary="An agent's Elo after each game and its Bradley-Terry estimates")
def get_agent_ratings(agent_id: AgentId) -> RatingHistory:
    return agents.rating_history(agent_id)


@router.get("/submissions/{submission_id}", responses=NOT_FOUND,
            summary="One submitted version: its status, reason, log tail and timeline")
def get_submission(submission_id: SubmissionId) -> SubmissionView:
    return agents.submission_view(submission_id)


@router.get("/matches", responses=error_responses(400),
            summary="Matches, newest first, filtered by environment, agent and status")
def list_matches(
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=views.MAX_LIMIT)] = 25,
    env: Annotated[str | None, Query(max_length=100,
                                     description="An environment id, e.g. tictactoe")] = None,
    agent: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                       description="An agent's id (any of its versions)")] = None,
    status: Annotated[str | None, Query(max_length=20,
                                        description="queued, running, finished or failed")] = None,
    env_id: Annotated[str | None, Query(max_length=100, deprecated=True,
                                        description="The old name of env")] = None,
    agent_id: Annotated[int | None, Query(ge=1, le=MAX_ID, deprecated=True,
                                          description="The old name of agent")] = None,
) -> MatchPage:
    return views.match_page(env_id=_either("env", env, "env_id", env_id),
                                  agent_id=_either("agent", agent, "agent_id", agent_id),
                                  status=status, offset=offset, limit=limit)


def _either(name: str, value: T | None, old_name: str, old_value: T | None) -> T | None:
    """A filter given by its name or by its old name (422 when both say different things)."""
    if value is not None and old_value is not None and value != old_value:
        raise RequestValidationError([{
            "loc": ("query", old_name), "type": "conflict",
            "msg": f"is the old name of {name!r}, which says something else: send only {name}"}])
    return value if value is not None else old_value


@router.get("/matches/{match_id}", responses=NOT_FOUND,
            summary="A match with its games, seed, environment version and images")
def get_match(match_id: MatchId) -> MatchDetail:
    return views.match_detail(match_id)


@router.get("/matches/{match_id}/replay", response_class=Response,
            summary="Download a match's replay (gzip JSON)",
            responses={200: {"content": {"application/gzip": {}},
                             "description": "The replay, gzip-compressed JSON"}, **NOT_FOUND})
def get_match_replay(match_id: MatchId) -> Response:
    data, name = replays.match_replay_file(match_id)
    return Response(data, media_type="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/status", summary="The platform at a glance: workers, queues, counts")
def get_status() -> StatusView:
    view = status.status_view()
    return dataclasses.replace(view, redis=public(view.redis))
