"""Admin routes (an admin-scoped token): the repairs of the admin page, and the audit log.

Every action goes through ``actions.perform``, which authorizes and audits it: a long one
answers 202 with its running audit entry (Location: where to follow it), a quick one 200 with
its finished entry; a quick one that could not be done answers 409 with its reason, and so does
a long one already running on the same target (the reason names its audit entry: nothing new
starts); a platform failure (e.g. Redis down) answers 503. The audit log pages (offset, limit)
and filters (actor, action, outcome), newest first.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from rl_arena_app.api import PREFIX
from rl_arena_app.api.auth import AdminActor
from rl_arena_app.api.errors import ApiRoute, error_responses
from rl_arena_app.api.params import EntryId, EnvId, MatchId, Offset
from rl_arena_app.errors import Conflict
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.read_models import AuditView

router = APIRouter(prefix=f"{PREFIX}/admin", route_class=ApiRoute, tags=["admin"],
                   responses=error_responses(401, 403, 422, 503))
ACTED = {200: {"description": "Done: the finished audit entry"},
         202: {"model": AuditView,
               "description": "Started: a worker runs it; follow the entry at Location"},
         **error_responses(400, 404, 409)}


def _names(*targets: str) -> tuple[str, ...]:
    return tuple(a.name for a in actions.ACTIONS.values() if a.target in targets)


EnvAction = Literal[_names("env", "duel-env", "env-or-all")]  # type: ignore[valid-type]
ArenaAction = Literal[_names("", "env-or-all")]  # type: ignore[valid-type]
AccountAction = Literal[_names("account")]  # type: ignore[valid-type]
MatchAction = Literal[_names("match")]  # type: ignore[valid-type]


def _act(actor: AdminActor, action: str, target: str, response: Response) -> AuditView:
    """Perform an action; the entry, with the status and Location its outcome calls for."""
    entry = actions.perform(actor, action, target)
    if entry.outcome == "failed":
        raise Conflict(f"{action} {target or 'everywhere'} failed: {entry.detail} "
                       f"(audit entry {entry.entry_id})")
    response.headers["Location"] = f"{PREFIX}/admin/audit/{entry.entry_id}"
    response.status_code = 202 if entry.outcome == "running" else 200
    return entry


@router.post("/envs/{env_id}/{action}", responses=ACTED,
             summary="An action on one environment (ratings, caches, matchmaking, enabled)")
def post_env_action(actor: AdminActor, env_id: EnvId, action: EnvAction,
                    response: Response) -> AuditView:
    return _act(actor, action, env_id, response)


@router.post("/accounts/{email}/{action}", responses=ACTED,
             summary="An action on an account (end its logins and tokens, admin rights)")
def post_account_action(actor: AdminActor,
                        email: Annotated[str, Path(max_length=320,
                                                   description="The account's email")],
                        action: AccountAction, response: Response) -> AuditView:
    return _act(actor, action, email, response)


@router.post("/matches/{match_id}/{action}", responses=ACTED,
             summary="An action on a finished match (re-run it and compare)")
def post_match_action(actor: AdminActor, match_id: MatchId, action: MatchAction,
                      response: Response) -> AuditView:
    return _act(actor, action, str(match_id), response)


@router.post("/{action}", responses=ACTED,
             summary="An action on the whole arena (every environment, every image, the "
                     "failed work)")
def post_arena_action(actor: AdminActor, action: ArenaAction, response: Response) -> AuditView:
    return _act(actor, action, "", response)


@router.get("/audit", responses=error_responses(400),
            summary="The audit log, newest first, paged and filtered by actor, action and "
                    "outcome")
def get_audit(
    caller: AdminActor,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 50,
    actor: Annotated[str | None, Query(max_length=320, description=(
        "Part of the actor, any case: an email, cli, or provider:subject of a refused "
        "login"))] = None,
    action: Annotated[str | None, Query(max_length=100, description=(
        "An action: " + ", ".join(sorted(audit.KNOWN))))] = None,
    outcome: Annotated[str | None, Query(max_length=20, description=(
        "One of " + ", ".join(audit.OUTCOMES)))] = None,
) -> list[AuditView]:
    return actions.audit_log(caller, actor=actor, action=action, outcome=outcome,
                                   offset=offset, limit=limit).entries


@router.get("/audit/{entry_id}", responses=error_responses(404),
            summary="One audit entry (a long action's progress and outcome)")
def get_audit_entry(actor: AdminActor, entry_id: EntryId) -> AuditView:
    return actions.audit_entry(actor, entry_id)
