"""Submitter routes (a token needed): submit a version, retire an agent, see one's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile

from rl_arena_app.api import PREFIX
from rl_arena_app.api.auth import Submitter, TokenHolder
from rl_arena_app.api.body_limit import too_large
from rl_arena_app.api.errors import ApiRoute, error_responses
from rl_arena_app.api.models import EnvQuota, Me
from rl_arena_app.api.params import AgentId
from rl_arena_app.services.accounts import tokens
from rl_arena_app.services.read_models import AgentView, SubmissionView
from rl_arena_app.services.submissions import agents, intake, quotas
from rl_arena_app.settings import get_settings

router = APIRouter(prefix=PREFIX, route_class=ApiRoute, tags=["submit"],
                   responses=error_responses(401, 422, 503))


@router.post("/submissions", status_code=201,
             responses={201: {"description": "Accepted and queued for its build; Location is "
                                             "where to follow it"},
                        **error_responses(400, 403, 413, 429)},
             summary="Submit an agent: a new agent, or a new version of one of yours")
def post_submission(
    account: Submitter,
    response: Response,
    file: Annotated[UploadFile, File(description="agent.py, a policy.onnx, or a .zip / "
                                                 ".tar.gz / .tar with agent.py, main.py or "
                                                 "policy.onnx at its root")],
    env: Annotated[str, Form(max_length=100, description="The environment, e.g. tictactoe")],
    name: Annotated[str, Form(max_length=64, description="The agent's name (letters, digits, "
                                                         "'.', '_', '-'): an existing one of "
                                                         "yours gets a new version")],
    algorithm: Annotated[str | None, Form(description="Optional: the algorithm, e.g. PPO (at "
                                                      "most 40 characters, one line)")] = None,
    description: Annotated[str | None, Form(description="Optional: what the version is (at "
                                                        "most 500 characters, plain text; "
                                                        "line breaks kept)")] = None,
    source_url: Annotated[str | None, Form(description="Optional: where its code is, an "
                                                       "http:// or https:// address (at most "
                                                       "300 characters, no user or password)")
                          ] = None,
) -> SubmissionView:
    cap = intake.upload_limits(get_settings()).max_upload_bytes
    data = file.file.read(cap + 1)
    if len(data) > cap:
        raise HTTPException(413, too_large(get_settings().max_upload_mb))
    made = intake.submit_upload(account, env_id=env, name=name, filename=file.filename or "",
                                data=data, metadata=intake.Metadata(algorithm, description,
                                                                    source_url))
    response.headers["Location"] = f"{PREFIX}/submissions/{made.id}"
    return agents.submission_view(made.id)


@router.post("/agents/{agent_id}/retire", responses=error_responses(403, 404, 409),
             summary="Retire one of your agents: no more matches; its history stays")
def post_retire(account: Submitter, agent_id: AgentId) -> AgentView:
    agents.retire_agent(account, agent_id)
    return agents.agent_view(agent_id)


@router.get("/me", summary="Your account, limits, agents and tokens (never a token itself)")
def get_me(holder: TokenHolder) -> Me:
    account, scope = holder
    daily, active = quotas.account_quotas(account)
    return Me(account=account, token_scope=scope, active_agents=active,
              daily_submissions=[EnvQuota(env_id, today) for env_id, today in daily.items()],
              max_upload_mb=get_settings().max_upload_mb,
              agents=agents.my_agents(account), tokens=tokens.list_tokens(account))
