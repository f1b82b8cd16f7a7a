"""Builds: the queue of versions to build, and the job that builds one and validates it.

queued → building → validating → ready | failed, each step on the version's timeline and
announced live. Agent faults fail the version with a reason; infrastructure errors put it back
in the queue for RQ's retry, and fail it with an infrastructure reason on the last attempt.
The validation games and their verdict are ``submissions.validation``'s.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import Queue, Retry, get_current_job
from rq.job import Job
from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import BUILTIN_PREFIX, AgentBundle
from rl_arena_app.arena.sandbox import SandboxRunner
from rl_arena_app.broker import BUILD_TASK, BUILDS, build_job_id, get_queue, job_pending
from rl_arena_app.db.models import Agent, Submission, SubmissionEvent, SubmissionStatus, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services import events
from rl_arena_app.services.storage import load_artifact
from rl_arena_app.services.submissions.validation import LOG_TAIL_CHARS, shown, validate

log = logging.getLogger(__name__)

BUILD_TIMEOUT_S = 1800
BUILD_RETRY = Retry(max=3, interval=[5, 15, 45])
FINAL = (SubmissionStatus.READY, SubmissionStatus.FAILED)
UNFINISHED = (SubmissionStatus.QUEUED, SubmissionStatus.BUILDING, SubmissionStatus.VALIDATING)
PLATFORM_FAULT = "the platform could not build or run it"  # starts infrastructure failures


def announce(submission: Submission) -> None:
    """Publish the submission's status as a live event (after commit)."""
    with session_scope() as session:
        agent = session.get(Agent, submission.agent_id)
    events.publish("submission_status", submission_id=submission.id, status=submission.status,
                   env_id=submission.env_id, reason=submission.reason, agent_id=agent.id,
                   name=agent.name, version=submission.version)


def _update(submission_id: int, **fields: Any) -> Submission:
    """Set fields on a submission; commit; a status change goes on its timeline and is announced
    (a new image tag alone is not news: the feed, the scheduler and the caches ignore it)."""
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
        moved = "status" in fields and fields["status"] != submission.status
        for key, value in fields.items():
            setattr(submission, key, value)
        submission.updated_at = utcnow()
        session.add(submission)
        if moved:
            session.add(SubmissionEvent(submission_id=submission_id, status=submission.status,
                                        reason=submission.reason, at=submission.updated_at))
    if moved:
        announce(submission)
    return submission


def submission_bundle(submission: Submission) -> AgentBundle:
    """The submission's stored code as a bundle, read from the store (any host's worker can build
    and play it); built-ins keep their name for inprocess runs."""
    name = submission.artifact_name
    bundle = load_artifact(submission.artifact_sha256, name)
    if name.startswith(BUILTIN_PREFIX):
        return AgentBundle(ref=name, files=bundle.files, builtin=name[len(BUILTIN_PREFIX):])
    return bundle


# ---------------------------------------------------------------------------------- the queue


def builds_queue() -> Queue:
    """The builds queue (InfrastructureError with advice when Redis is unreachable)."""
    return get_queue(BUILDS)


def enqueue_build(submission_id: int) -> Job:
    """Enqueue the build job (retried with backoff on infrastructure errors)."""
    return builds_queue().enqueue(
        BUILD_TASK, submission_id, job_id=build_job_id(submission_id),
        retry=BUILD_RETRY, job_timeout=BUILD_TIMEOUT_S)


def requeue_unfinished() -> list[int]:
    """Enqueue builds for unfinished submissions whose job is gone (Redis flushed, worker lost)."""
    queue = builds_queue()
    with session_scope() as session:
        ids = session.exec(select(Submission.id).where(
            Submission.status.in_([str(s) for s in UNFINISHED]))).all()
    requeued = [s for s in ids if not job_pending(build_job_id(s), queue.connection)]
    for submission_id in requeued:
        enqueue_build(submission_id)
    return requeued


def platform_failures() -> list[int]:
    """Failed versions whose failure was the platform's (they may be built again)."""
    with session_scope() as session:
        return list(session.exec(select(Submission.id).where(
            Submission.status == SubmissionStatus.FAILED,
            Submission.reason.startswith(PLATFORM_FAULT)).order_by(Submission.id)).all())


def retry_build(submission_id: int) -> None:
    """Put a version the platform failed back in the queue (the caller enqueues its build)."""
    _update(submission_id, status=SubmissionStatus.QUEUED, reason=None, log_tail=None)


# ------------------------------------------------------------------------------------ the job


def rebuild_image(submission_id: int, runner: SandboxRunner) -> bool:
    """Make sure a ready version's image exists for the current base; whether its tag changed."""
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
    if submission is None or submission.status != SubmissionStatus.READY:
        return False
    bundle = submission_bundle(submission)
    image = runner.prepare([bundle], _progress(submission_id)).images[0]
    if image == submission.image:
        return False
    _update(submission_id, image=image)
    return True


def build_and_validate(submission_id: int, runner: SandboxRunner) -> Submission | None:
    """Build a submission's image and validate it; safe to run twice; the final submission."""
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
    if submission is None:
        log.warning("submission %s does not exist; nothing to build", submission_id)
        return None
    if submission.status in FINAL:
        return submission
    _update(submission_id, status=SubmissionStatus.BUILDING, reason=None, log_tail=None)
    try:
        fields = _build_and_run(submission, runner)
    except BadInput as exc:
        fields = {"status": SubmissionStatus.FAILED, "reason": shown(str(exc), 2000),
                  "log_tail": shown(str(exc), LOG_TAIL_CHARS, log=True)}
    except InfrastructureError as exc:
        if _last_attempt():
            _update(submission_id, status=SubmissionStatus.FAILED, log_tail=shown(
                str(exc), LOG_TAIL_CHARS, log=True), reason=shown(
                f"{PLATFORM_FAULT} (not your agent's fault): {exc}; "
                "submit it again later", 2000))
        else:
            _update(submission_id, status=SubmissionStatus.QUEUED)  # a retry starts over
        raise
    except KeyboardInterrupt:
        _update(submission_id, status=SubmissionStatus.QUEUED)
        raise
    return _update(submission_id, **fields)


def _last_attempt() -> bool:
    """Whether this run is the RQ job's last attempt (no retries left); False outside RQ."""
    job = get_current_job()
    return job is not None and not job.retries_left


def _build_and_run(submission: Submission, runner: SandboxRunner) -> dict[str, Any]:
    """Build the image, run the validation and return the submission's final fields."""
    progress = _progress(submission.id)
    prepared = runner.prepare([submission_bundle(submission)], progress)
    _update(submission.id, status=SubmissionStatus.VALIDATING, image=prepared.images[0])
    return validate(submission.id, envs.spec(submission.env_id), prepared.factories, runner,
                    progress)


def _progress(submission_id: int):
    """A progress callback that logs build steps of one submission."""
    return lambda message: log.info("submission %s: %s", submission_id, message)
