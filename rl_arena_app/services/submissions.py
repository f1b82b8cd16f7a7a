"""Submissions: accept an upload, then build and validate it in a worker."""

from __future__ import annotations

import logging
import re
import statistics
from pathlib import Path
from typing import Any

from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import (
    BUILTIN_PREFIX,
    DEFAULT_LIMITS,
    AgentBundle,
    BundleLimits,
    load_bundle,
)
from rl_arena_app.arena.outcomes import (
    BadAgent,
    BadInput,
    InfrastructureError,
    fault_line,
    fault_summary,
)
from rl_arena_app.arena.referee import GameRecord, Limits
from rl_arena_app.arena.run import RunResult, play
from rl_arena_app.arena.sandbox import SandboxRunner
from rl_arena_app.broker import BUILD_TASK, BUILDS, build_job_id, get_queue
from rl_arena_app.core.text import describe_character, first_control_character
from rl_arena_app.db.models import (
    Agent,
    Submission,
    SubmissionEvent,
    SubmissionStatus,
    User,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import events
from rl_arena_app.services.artifacts import (
    load_artifact,
    store_bundle,
    store_replay,
)
from rl_arena_app.services.users import check_owner, ensure_house, ensure_user
from rl_arena_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

BUILD_TIMEOUT_S = 1800
BUILD_RETRY = Retry(max=3, interval=[5, 15, 45])
VALIDATION_OPPONENT = "builtin:random"
FINAL = (SubmissionStatus.READY, SubmissionStatus.FAILED)
UNFINISHED = (SubmissionStatus.QUEUED, SubmissionStatus.BUILDING, SubmissionStatus.VALIDATING)
LOG_TAIL_CHARS = 4000
MAX_ARTIFACT_NAME = 255
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
CREATE_ATTEMPTS = 8
_MIB = 1024 * 1024


# ------------------------------------------------------------------------------------ submit


def check_name(name: str) -> str:
    """An agent name as given, or BadInput saying what a name may contain."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadInput(f"agent name {name!r} is not allowed: use 1-64 letters, digits, '.', '_' "
                       "or '-' (nothing else, no spaces or newlines), e.g. --name my-agent")
    return name


def upload_limits(settings: Settings) -> BundleLimits:
    """Bundle limits from the settings' upload size."""
    upload = settings.max_upload_mb * _MIB
    return BundleLimits(max_upload_bytes=upload,
                        max_total_bytes=max(DEFAULT_LIMITS.max_total_bytes, upload))


def check_env(env_id: str) -> envs.EnvSpec:
    """The env's spec, or BadInput pointing at `rl-arena envs`."""
    try:
        return envs.spec(env_id)
    except BadInput as exc:
        raise BadInput(f"{exc} (see `rl-arena envs`)") from None


def check_env_open(env_id: str) -> envs.EnvSpec:
    """The env's spec if it exists and takes submissions, else BadInput saying why."""
    from rl_arena_app.services.admin import env_enabled

    env = check_env(env_id)
    if not env_enabled(env.id):
        raise BadInput(f"environment {env.id} is disabled by the organisers and takes no "
                       "submissions now: try again when it is enabled")
    return env


def submit(ref: str, *, env_id: str, name: str, owner_email: str | None = None,
           house: bool = False, enqueue: bool = True) -> Submission:
    """Validate an upload, store it, create the submission and enqueue its build.

    The owner is a person (``owner_email``) or, for the platform's own agents only, the house.
    Everything is checked before anything is stored: a refused upload leaves no artifact and
    no rows behind. An artifact is never deleted here: another submission may share its content.
    """
    settings = get_settings()
    env = check_env_open(env_id)
    check_name(name)
    if house == (owner_email is not None):
        raise ValueError("give either owner_email or house=True")
    if owner_email is not None:
        check_owner(owner_email)
    bundle = load_bundle(ref, env_id=env.id, limits=upload_limits(settings))
    artifact_name = _artifact_name(bundle)
    queue = _builds_queue() if enqueue else None  # Redis down: refuse before storing
    store_bundle(settings.artifacts_dir, bundle)
    submission = _create(bundle.digest, artifact_name, env.id, name, owner_email, settings)
    _announce(submission)
    if queue is not None:
        enqueue_build(submission.id)
    return submission


def _artifact_name(bundle: AgentBundle) -> str:
    """What the submitter gave: builtin:NAME or the upload's file name (no control characters)."""
    if bundle.builtin is not None:
        return f"{BUILTIN_PREFIX}{bundle.builtin}"
    name = Path(bundle.ref).name
    bad = first_control_character(name)
    if bad is not None:
        raise BadAgent(f"the file name {name!r} contains the control character "
                       f"{describe_character(bad)}: rename the file")
    if len(name) > MAX_ARTIFACT_NAME:
        raise BadAgent(f"the file name {name[:40]!r}… is longer than {MAX_ARTIFACT_NAME} "
                       "characters: rename the file")
    return name or "agent"


@retry(retry=retry_if_exception_type(IntegrityError), stop=stop_after_attempt(CREATE_ATTEMPTS),
       wait=wait_random_exponential(multiplier=0.01, max=0.5), reraise=True)
def _create(digest: str, artifact_name: str, env_id: str, name: str, owner_email: str | None,
            settings: Settings) -> Submission:
    """Create (or reuse) owner and agent and add the next version, in one transaction.

    Concurrent submits race on the unique owner email, agent name and version number: the loser's
    transaction rolls back whole and is tried again, and then sees the winner's rows.
    """
    with session_scope() as session:
        owner = ensure_house(session) if owner_email is None else ensure_user(session, owner_email)
        agent = session.exec(select(Agent).where(
            Agent.owner_id == owner.id, Agent.env_id == env_id, Agent.name == name)).first()
        if agent is None:
            agent = Agent(owner_id=owner.id, env_id=env_id, name=name)
            session.add(agent)
            session.flush()
        previous = session.exec(select(Submission).where(Submission.agent_id == agent.id)
                                .order_by(Submission.version.desc())).first()
        rating = previous.rating if previous is not None else settings.elo_start
        submission = Submission(
            agent_id=agent.id, env_id=env_id,
            version=1 if previous is None else previous.version + 1,
            artifact_sha256=digest, artifact_name=artifact_name,
            initial_rating=rating, rating=rating, games=0)
        session.add(submission)
        session.flush()
        session.add(SubmissionEvent(submission_id=submission.id, status=submission.status,
                                    at=submission.created_at))
    return submission


def _builds_queue():
    """The builds queue (InfrastructureError with advice when Redis is unreachable)."""
    return get_queue(BUILDS)


def enqueue_build(submission_id: int) -> Job:
    """Enqueue the build job (retried with backoff on infrastructure errors)."""
    return _builds_queue().enqueue(
        BUILD_TASK, submission_id, job_id=build_job_id(submission_id),
        retry=BUILD_RETRY, job_timeout=BUILD_TIMEOUT_S)


def requeue_unfinished() -> list[int]:
    """Enqueue builds for unfinished submissions whose job is gone (Redis flushed, worker lost)."""
    queue = _builds_queue()
    with session_scope() as session:
        ids = session.exec(select(Submission.id).where(
            Submission.status.in_([str(s) for s in UNFINISHED]))).all()
    requeued = []
    for submission_id in ids:
        try:
            job = Job.fetch(build_job_id(submission_id), connection=queue.connection)
            status = job.get_status()
        except NoSuchJobError:
            status = None
        if status not in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
                          JobStatus.DEFERRED):
            enqueue_build(submission_id)
            requeued.append(submission_id)
    return requeued


# ------------------------------------------------------------------------ build and validate


def _announce(submission: Submission) -> None:
    """Publish the submission's status as a live event (after commit)."""
    with session_scope() as session:
        agent = session.get(Agent, submission.agent_id)
    events.publish("submission_status", submission_id=submission.id, status=submission.status,
                   env_id=submission.env_id, reason=submission.reason, agent_id=agent.id,
                   name=agent.name, version=submission.version)


def _update(submission_id: int, **fields: Any) -> Submission:
    """Set fields on a submission and record a status change on its timeline; commit, announce."""
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
    _announce(submission)
    return submission



def submission_bundle(submission: Submission, settings: Settings | None = None) -> AgentBundle:
    """The submission's stored code as a bundle (built-ins keep their name for inprocess runs)."""
    settings = settings or get_settings()
    name = submission.artifact_name
    bundle = load_artifact(settings.artifacts_dir, submission.artifact_sha256, name)
    if name.startswith(BUILTIN_PREFIX):
        return AgentBundle(ref=name, files=bundle.files, builtin=name[len(BUILTIN_PREFIX):])
    return bundle


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
        fields = {"status": SubmissionStatus.FAILED, "reason": _clip(str(exc), 2000),
                  "log_tail": _clip(str(exc), LOG_TAIL_CHARS)}
    except InfrastructureError as exc:
        if _last_attempt():
            _update(submission_id, status=SubmissionStatus.FAILED, log_tail=_clip(
                str(exc), LOG_TAIL_CHARS), reason=_clip(
                f"the platform could not build or run it (not your agent's fault): {exc}; "
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
    from rq import get_current_job

    job = get_current_job()
    return job is not None and not job.retries_left


def _build_and_run(submission: Submission, runner: SandboxRunner) -> dict[str, Any]:
    """Build the image, run the validation and return the submission's final fields."""
    settings = get_settings()
    env = envs.spec(submission.env_id)
    bundle = submission_bundle(submission, settings)
    progress = _progress(submission.id)
    prepared = runner.prepare([bundle], progress)
    factories, refs = prepared.factories, [f"submission:{submission.id}"]
    _update(submission.id, status=SubmissionStatus.VALIDATING, image=prepared.images[0])
    if env.kind == "duel":
        opponent = load_bundle(VALIDATION_OPPONENT, env_id=env.id)
        factories = [*factories, *runner.prepare([opponent], progress).factories]
        refs = [*refs, VALIDATION_OPPONENT]
    result = play(env, factories, refs, sandbox=runner.kind, seed=env.seed,
                  limits=Limits.for_env(env), games=env.games, episodes=env.episodes)
    return {**_verdict(result),
            "validation_replay": store_replay(settings.data_dir, result.replay())}


def _progress(submission_id: int):
    """A progress callback that logs build steps of one submission."""
    return lambda message: log.info("submission %s: %s", submission_id, message)


def _verdict(result: RunResult) -> dict[str, Any]:
    """Ready unless the submitted agent (index 0) forfeited; solo runs also get their score."""
    fields: dict[str, Any] = {"status": SubmissionStatus.READY}
    if result.env.kind == "solo":
        returns = [g.returns[0] for g in result.games]
        fields["score_mean"] = statistics.fmean(returns)
        fields["score_std"] = statistics.pstdev(returns)
    forfeit = next((g for g in result.games if g.forfeit and g.forfeit.agent == 0), None)
    if forfeit is not None:
        detail = forfeit.forfeit.detail
        log = f"{fault_summary(detail)}\n\n--- full detail ---\n{detail}"
        fields.update(status=SubmissionStatus.FAILED, reason=_reason(result, forfeit),
                      log_tail=_clip(log, LOG_TAIL_CHARS, tail=True))
    return fields


def _reason(result: RunResult, game: GameRecord) -> str:
    """E.g. "validation game 1: crash — SyntaxError: expected ':' (agent.py, line 4)"."""
    what = "game" if result.env.kind == "duel" else "episode"
    detail = fault_line(game.forfeit.detail)
    return _clip(f"validation {what} {game.index + 1}: {game.forfeit.reason} — {detail}", 2000)


def _clip(text: str, limit: int, *, tail: bool = False) -> str:
    """Text cut to `limit` characters, keeping its start (or its end for a log tail)."""
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1):] if tail else text[:limit - 1] + "…"


# -------------------------------------------------------------------------------- read side


def _row(submission: Submission, agent: Agent, owner: User) -> dict[str, Any]:
    """A submission as a plain dict for the CLI, API and UI."""
    return {
        "submission": submission.id, "env": submission.env_id,
        "kind": envs.spec(submission.env_id).kind, "agent": agent.name,
        "agent_id": agent.id, "owner": owner.email, "house": owner.is_house,
        "version": submission.version, "status": submission.status,
        "reason": submission.reason, "image": submission.image,
        "validation_replay": submission.validation_replay,
        "artifact": submission.artifact_name, "sha256": submission.artifact_sha256,
        "rating": submission.rating, "initial_rating": submission.initial_rating,
        "games": submission.games, "score_mean": submission.score_mean,
        "score_std": submission.score_std, "created_at": submission.created_at,
        "updated_at": submission.updated_at,
    }


def _joined():
    """Submissions joined with their agent and owner."""
    return (select(Submission, Agent, User).join(Agent, Agent.id == Submission.agent_id)
            .join(User, User.id == Agent.owner_id))


def list_submissions(env_id: str | None = None) -> list[dict[str, Any]]:
    """All submissions (of one env when given), oldest first."""
    if env_id is not None:
        check_env(env_id)
    with session_scope() as session:
        query = _joined().order_by(Submission.id)
        if env_id is not None:
            query = query.where(Submission.env_id == env_id)
        return [_row(*row) for row in session.exec(query).all()]


def describe(submission_id: int) -> dict[str, Any]:
    """One submission with its log tail; BadInput when there is no such submission."""
    with session_scope() as session:
        row = session.exec(_joined().where(Submission.id == submission_id)).first()
        if row is None:
            total = session.exec(select(func.count()).select_from(Submission)).one()
            raise BadInput(f"no submission {submission_id} ({total} submissions exist): "
                           "see `rl-arena agent list`")
    return {**_row(*row), "log_tail": row[0].log_tail}
