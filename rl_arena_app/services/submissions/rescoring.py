"""A new scoring season of a solo environment: new secret seeds, and every ready version of it
scored again on them (a worker's long admin action)."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.arena.sandbox import SandboxRunner
from rl_arena_app.db.models import Agent, Submission, SubmissionStatus, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import events
from rl_arena_app.services.submissions.builds import submission_bundle
from rl_arena_app.services.submissions.seasons import start_new_season
from rl_arena_app.services.submissions.validation import score, scoring_fields

Progress = Callable[[float, str], None]
RESCORED_FIELDS = ("score_mean", "score_std", "validation_replay")


def ready_versions(env_id: str) -> list[int]:
    """Ready versions of the env's active agents, oldest first."""
    with session_scope() as session:
        return list(session.exec(
            select(Submission.id).join(Agent, Agent.id == Submission.agent_id)
            .where(Submission.env_id == env_id, Submission.status == SubmissionStatus.READY,
                   Agent.retired_at.is_(None)).order_by(Submission.id)).all())


def rescore(submission_id: int, runner: SandboxRunner) -> bool:
    """Score a ready version on its env's running season; whether it was (still) ready.

    A forfeit scores the episode's worst return, as at upload, but leaves the version ready:
    it passed its check once, and a season does not take that back.
    """
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
    if submission is None or submission.status != SubmissionStatus.READY:
        return False
    prepared = runner.prepare([submission_bundle(submission)])
    result = score(submission_id, envs.spec(submission.env_id), prepared.factories, runner.kind)
    fields = scoring_fields(result)
    with session_scope() as session:
        row = session.get(Submission, submission_id)
        for key in RESCORED_FIELDS:
            setattr(row, key, fields.get(key))
        row.image = prepared.images[0]
        row.updated_at = utcnow()
        session.add(row)
    return True


def new_season(env_id: str, report: Progress, runner: SandboxRunner) -> str:
    """Start the env's next season and score every ready version on its seeds; what was done."""
    season = start_new_season(env_id)
    ids = ready_versions(env_id)
    rescored = 0
    for done, submission_id in enumerate(ids):
        report(done / max(len(ids), 1), f"version {submission_id} ({done + 1} of {len(ids)})")
        rescored += rescore(submission_id, runner)
        events.invalidate([env_id])  # each new score shows as soon as it is known
    return f"{env_id}: season {season} started; rescored {rescored} ready versions"
