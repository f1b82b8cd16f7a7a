"""Admin actions: one catalog the CLI, the admin page and the API share; each one is audited.

Quick actions run where they are asked for; long ones (rebuilding ratings or images) are audited
as "running" and run by a worker (``jobs.tasks.admin_action``), which reports progress on the
audit entry; while one runs, the same action on the same target is refused with
``audit.AlreadyRunning`` naming it (a double click starts nothing twice). A refusal (not an
admin, a bad target) is audited too, counted per actor and action (``admin.audit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.arena.sandbox import SandboxRunner
from rl_arena_app.broker import ADMIN_TASK, BUILDS, admin_job_id, get_queue, get_redis, job_pending
from rl_arena_app.core.text import describe_character, first_control_character, printable
from rl_arena_app.db.models import Agent, Match, MatchStatus, Submission, SubmissionStatus
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, InfrastructureError, NotAllowed, NotFound, NotSignedIn
from rl_arena_app.services import events
from rl_arena_app.services.accounts import sessions, tokens, users
from rl_arena_app.services.admin import audit, env_switches
from rl_arena_app.services.environments import env_ids
from rl_arena_app.services.matches.queue import requeue_pending
from rl_arena_app.services.matches.rerun import rerun_match, rerunnable_match
from rl_arena_app.services.ratings.refresh import rebuild_ratings, refresh_bradley_terry
from rl_arena_app.services.read_models import Account, AuditPage, AuditView
from rl_arena_app.services.submissions.builds import (
    enqueue_build,
    platform_failures,
    rebuild_image,
    retry_build,
)
from rl_arena_app.services.submissions.rescoring import new_season
from rl_arena_app.services.submissions.seasons import NEW_SEASON_ACTION

Progress = Callable[[float, str], None]
QuickRun = Callable[[str], str]  # target -> what was done
WorkerRun = Callable[[str, Progress, SandboxRunner], str]  # the same in a worker, reporting
ADMIN_JOB_TIMEOUT_S = 3600


@dataclass(frozen=True, slots=True)
class Action:
    """An admin action: its name, what it targets, what the admin page asks first, and how it
    runs: where it is asked for (``quick``) or by a worker (``worker``)."""

    name: str
    label: str
    target: str  # "env", "duel-env", "env-or-all", "account", "match" or "" (the whole arena)
    confirm: str  # the question the admin page asks first
    quick: QuickRun | None = None
    worker: WorkerRun | None = None

    def __post_init__(self) -> None:
        if (self.quick is None) == (self.worker is None):
            raise TypeError(f"admin action {self.name!r} needs exactly one of quick and worker")

    @property
    def long(self) -> bool:
        """Whether a worker runs it (audited as running until it finishes)."""
        return self.worker is not None


# ---------------------------------------------------------------------------- the actions


def _duel_envs(target: str) -> list[str]:
    return [target] if target else [s.id for s in envs.list_envs() if s.kind == "duel"]


def _rebuild_ratings(target: str, report: Progress, _: SandboxRunner) -> str:
    ids = _duel_envs(target)
    if target and envs.spec(target).kind != "duel":
        return f"{target} is a solo environment: its scores are not ratings; nothing to rebuild"
    games = 0
    for done, env_id in enumerate(ids):
        report(done / len(ids), f"rebuilding {env_id}")
        games += rebuild_ratings(env_id)
        report((done + 0.5) / len(ids), f"fitting Bradley-Terry for {env_id}")
        refresh_bradley_terry(env_id)
    return f"rebuilt {', '.join(ids)} from {games} games"


def _refresh_bt(target: str, report: Progress, _: SandboxRunner) -> str:
    if target and envs.spec(target).kind != "duel":
        return f"{target} is a solo environment: it has no Bradley-Terry fit"
    ids = _duel_envs(target)
    fitted = 0
    for done, env_id in enumerate(ids):
        report(done / len(ids), f"fitting {env_id}")
        fitted += refresh_bradley_terry(env_id)
    return f"fitted {fitted} versions in {', '.join(ids)}"


def _rebuild_images(_: str, report: Progress, runner: SandboxRunner) -> str:
    with session_scope() as session:
        ids = session.exec(select(Submission.id).join(Agent, Agent.id == Submission.agent_id)
                           .where(Submission.status == SubmissionStatus.READY,
                                  Agent.retired_at.is_(None)).order_by(Submission.id)).all()
    changed = 0
    for done, submission_id in enumerate(ids):
        report(done / max(len(ids), 1), f"version {submission_id} ({done + 1} of {len(ids)})")
        changed += rebuild_image(submission_id, runner)
    return f"checked {len(ids)} images; {changed} rebuilt or re-tagged"


def _rerun_match(target: str, report: Progress, runner: SandboxRunner) -> str:
    return rerun_match(int(target), runner, report)


def _rebuild_leaderboard(target: str) -> str:
    ids = [target] if target else env_ids()
    events.invalidate(ids)
    return f"dropped the cached leaderboards of {', '.join(ids)}"


def _requeue_failed(_: str) -> str:
    retired = (select(Submission.id).join(Agent, Agent.id == Submission.agent_id)
               .where(Agent.retired_at.is_not(None)))
    with session_scope() as session:  # attempts stay: each requeue grants one more try
        matches = session.exec(update(Match).where(Match.status == MatchStatus.FAILED,
                                                   Match.player_a_id.not_in(retired),
                                                   Match.player_b_id.not_in(retired))
                               .values(status=MatchStatus.QUEUED, error=None,
                                       finished_at=None, deadline=None, worker=None)
                               .execution_options(synchronize_session=False)).rowcount
    requeue_pending()
    builds = platform_failures()
    for submission_id in builds:
        retry_build(submission_id)
        enqueue_build(submission_id)
    return f"queued {matches} failed matches and {len(builds)} builds again"


def _revoke_sessions(email: str) -> str:
    user_id = users.account_by_email(email).user_id
    ended = sessions.revoke_user_sessions(user_id)
    revoked = tokens.revoke_user_tokens(user_id)
    return f"ended {ended} sessions and revoked {revoked} API tokens of {email}"


def _set_admin(admin_rights: bool) -> QuickRun:
    def apply(email: str) -> str:
        users.set_admin(email, admin_rights)
        return f"{email} is {'now' if admin_rights else 'no longer'} an admin"
    return apply


def _env_state(change: Callable[[str], object], done: str) -> QuickRun:
    def apply(env_id: str) -> str:
        change(env_id)
        return f"{env_id}: {done}"
    return apply


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("rebuild-ratings", "Rebuild ratings", "env-or-all",
           "Recompute every Elo rating and the Bradley-Terry fit from the recorded games?",
           worker=_rebuild_ratings),
    Action("refresh-bt", "Refresh Bradley-Terry", "env-or-all",
           "Refit Bradley-Terry estimates and intervals now?", worker=_refresh_bt),
    Action("rebuild-leaderboard", "Rebuild leaderboard cache", "env-or-all",
           "Drop the cached leaderboards so the next view recomputes them?",
           quick=_rebuild_leaderboard),
    Action("rebuild-images", "Rebuild agent images", "",
           "Rebuild the Docker image of every active agent version for the current base?",
           worker=_rebuild_images),
    Action("rerun-match", "Re-run", "match",
           "Play this match again from its seed, environment version and images, and compare?",
           worker=_rerun_match),
    Action(NEW_SEASON_ACTION, "Start a new scoring season", "env",
           "Draw new secret scoring seeds for this solo environment and rescore every ready "
           "version on them?", worker=new_season),
    Action("requeue-failed", "Requeue failed work", "",
           "Queue again the failed matches and the builds the platform failed?",
           quick=_requeue_failed),
    Action("pause", "Pause matchmaking", "duel-env", "Stop creating matches here?",
           quick=_env_state(env_switches.pause_matchmaking, "matchmaking paused")),
    Action("resume", "Resume matchmaking", "duel-env", "Create matches here again?",
           quick=_env_state(env_switches.resume_matchmaking, "matchmaking resumed")),
    Action("disable", "Disable environment", "env",
           "Stop taking submissions and playing matches in this environment?",
           quick=_env_state(lambda e: env_switches.set_env_enabled(e, False), "disabled")),
    Action("enable", "Enable environment", "env", "Take submissions and matches again?",
           quick=_env_state(lambda e: env_switches.set_env_enabled(e, True), "enabled")),
    Action("revoke-sessions", "Log out everywhere", "account",
           "End every login and revoke every API token of this account?",
           quick=_revoke_sessions),
    Action("grant-admin", "Make admin", "account", "Give this account admin rights?",
           quick=_set_admin(True)),
    Action("revoke-admin", "Remove admin", "account", "Take admin rights away from this account?",
           quick=_set_admin(False)),
)}


# ------------------------------------------------------------------------ running them


def check_admin(actor: Account | str | None) -> None:
    """Refuse anyone but an admin account or the server's own shell ("cli")."""
    if actor == audit.CLI:
        return
    if actor is None or isinstance(actor, str):
        raise NotSignedIn("log in as an admin to do this")
    if not actor.is_admin:
        raise NotAllowed("only admins can do this")


def check_target(action: Action, target: str) -> str:
    """The action's target, checked: an env id, an account's email, a match id, or "" for
    all/the arena."""
    if (char := first_control_character(target)) is not None:
        raise BadInput(f"the target has {describe_character(char)}: type an environment id or "
                       "an email plainly")
    if action.target == "":
        if target:
            raise BadInput(f"{action.name} applies to the whole arena: give no target")
        return ""
    if action.target == "account":
        return users.account_by_email(target).email
    if action.target == "match":
        return str(rerunnable_match(target))
    if not target and action.target == "env-or-all":
        return ""
    if not target:
        raise BadInput(f"{action.name} needs an environment: one of {', '.join(env_ids())}")
    if target not in env_ids():  # a 404 in the API, like every other unknown env
        raise NotFound(f"unknown environment {target!r}: use one of {', '.join(env_ids())}")
    spec = envs.spec(target)
    if action.target == "duel-env" and spec.kind != "duel":
        raise BadInput(f"{spec.id} is a solo environment: it has no matchmaking")
    return spec.id


def perform(actor: Account | str | None, name: str, target: str = "") -> AuditView:
    """Do (or start, when long) an admin action and return its audit entry; refusals raise.

    Refusals of an account are audited (counted per actor and action); a caller with no login at
    all is refused unrecorded. A long action already running on the same target raises
    ``audit.AlreadyRunning`` (a Conflict naming that entry) and records nothing new. A platform
    failure (InfrastructureError, e.g. Redis down) is audited as failed and raised, so that
    front ends answer it as one.
    """
    if actor is None:
        raise NotSignedIn("log in as an admin to do this")
    action = ACTIONS.get(name)
    try:
        if action is None:
            raise BadInput(f"unknown admin action {printable(name).strip()[:100]!r}: one of "
                           f"{', '.join(ACTIONS)}")
        check_admin(actor)
        target = check_target(action, target)
    except BadInput as exc:  # an unknown name is in the message, cleaned
        audit.record(actor, name if action else audit.UNKNOWN_ACTION, target, outcome="refused",
                     detail=str(exc))
        raise
    if action.long:
        entry = audit.start(actor, name, target)
        try:
            _enqueue(entry.entry_id)
        except InfrastructureError as exc:  # e.g. Redis is down: say so on the entry, and raise
            audit.finish(entry.entry_id, "failed", str(exc))
            raise
        return entry
    try:
        detail = action.quick(target)
    except BadInput as exc:
        return audit.record(actor, name, target, outcome="failed", detail=str(exc))
    except InfrastructureError as exc:  # the platform's failure, not the action's: raise it
        audit.record(actor, name, target, outcome="failed", detail=str(exc))
        raise
    return audit.record(actor, name, target, outcome="ok", detail=detail)


def _enqueue(entry_id: int) -> None:
    get_queue(BUILDS).enqueue(ADMIN_TASK, entry_id, job_timeout=ADMIN_JOB_TIMEOUT_S,
                              job_id=admin_job_id(entry_id))


def requeue_running() -> list[int]:
    """Long actions still running whose job is gone (a worker lost, Redis flushed): enqueued
    again (they are safe to run twice); their audit entry ids."""
    lost = [entry_id for entry_id in audit.running_ids()
            if not job_pending(admin_job_id(entry_id), get_redis())]
    for entry_id in lost:
        _enqueue(entry_id)
    return lost


def audit_log(caller: Account | str | None, *, actor: str | None = None,
              action: str | None = None, outcome: str | None = None, offset: int = 0,
              limit: int = 50) -> AuditPage:
    """A page of the audit log, newest first, filtered (``audit.page``), for an admin (or the
    server's shell)."""
    check_admin(caller)
    return audit.page(actor=actor, action=action, outcome=outcome, offset=offset, limit=limit)


def audit_entry(actor: Account | str | None, entry_id: int) -> AuditView:
    """One audit entry, for an admin (or the server's shell); NotFound when there is none."""
    check_admin(actor)
    entry = audit.entry(entry_id)
    if entry is None:
        raise NotFound(f"no audit entry {entry_id}")
    return entry


def run_long(entry_id: int, runner: SandboxRunner) -> AuditView | None:
    """Run a long action a worker took from the queue (idempotent: a finished one is left)."""
    entry = audit.entry(entry_id)
    if entry is None or entry.outcome != "running":
        return entry

    def report(fraction: float, detail: str) -> None:
        audit.progress(entry_id, fraction, detail)

    try:
        detail = ACTIONS[entry.action].worker(entry.target, report, runner)
    except BadInput as exc:
        return audit.finish(entry_id, "failed", str(exc))
    except Exception as exc:
        audit.finish(entry_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    return audit.finish(entry_id, "ok", detail)
