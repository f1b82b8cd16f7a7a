"""Submitting an agent: check it, store its code, create the version, enqueue its build.

Two doors: `submit` takes a path on the server or builtin:NAME (the CLI on the server, the house
agents); `submit_upload` takes a file's name and bytes for a logged-in account (the dashboard and
the API: network callers never reach a server path). Both obey the same limits
(``submissions.quotas``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import (
    BUILTIN_PREFIX,
    DEFAULT_LIMITS,
    AgentBundle,
    BundleLimits,
    bundle_from_bytes,
    load_bundle,
    upload_too_big,
)
from rl_arena_app.arena.onnx_check import check_policy
from rl_arena_app.core.text import describe_character, first_control_character
from rl_arena_app.db.models import Agent, Submission, SubmissionEvent, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadAgent, BadInput, NotAllowed, NotSignedIn
from rl_arena_app.services import rate_limits
from rl_arena_app.services.accounts.users import check_owner, ensure_house, ensure_user
from rl_arena_app.services.admin.env_switches import env_enabled
from rl_arena_app.services.read_models import Account
from rl_arena_app.services.storage import store_bundle
from rl_arena_app.services.submissions.builds import announce, builds_queue, enqueue_build
from rl_arena_app.services.submissions.quotas import check_limits
from rl_arena_app.settings import Settings, get_settings

MAX_ARTIFACT_NAME = 255
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
CREATE_ATTEMPTS = 8
_MIB = 1024 * 1024
UPLOAD_SUFFIXES = (".py", ".onnx", ".zip", ".tar", ".tar.gz", ".tgz")
MAX_ALGORITHM = 40
MAX_DESCRIPTION = 500
MAX_SOURCE_URL = 300
_ALGORITHM = re.compile(r"\w[\w .+/()&,:#'*-]{0,39}")
# Any printable text over lines: controls other than the newline are refused (bidi and other
# invisible characters too, by first_control_character).
_DESCRIPTION = re.compile(r"[^\x00-\x09\x0b-\x1f\x7f]{1,500}")
# RFC 3986's characters only: a space, quote or angle bracket must be percent-encoded.
_SOURCE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]{1,292}", re.IGNORECASE)
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}"
                   r"[a-z0-9])?|[0-9a-f:.]+")


@dataclass(frozen=True, slots=True)
class Metadata:
    """What a submitter says of a version: each field optional, empty meaning not given."""

    algorithm: str | None = None
    description: str | None = None
    source_url: str | None = None


NO_METADATA = Metadata()


def check_name(name: str) -> str:
    """An agent name as given, or BadInput saying what a name may contain."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadInput(f"agent name {name!r} is not allowed: use 1-64 letters, digits, '.', '_' "
                       "or '-' (nothing else, no spaces or newlines), e.g. --name my-agent")
    return name


def check_metadata(metadata: Metadata) -> Metadata:
    """The metadata as stored (trimmed, empty fields None, line breaks as \\n), or BadInput
    naming the first field that is not allowed and how to fix it."""
    return Metadata(algorithm=check_algorithm(metadata.algorithm),
                    description=check_description(metadata.description),
                    source_url=check_source_url(metadata.source_url))


def check_algorithm(text: str | None) -> str | None:
    """A short single-line name such as PPO or "DQN (double)", or None when not given."""
    text = _given(text)
    if text is not None and not _ALGORITHM.fullmatch(text):
        raise BadInput(f"algorithm {text[:60]!r} is not allowed: use 1-{MAX_ALGORITHM} "
                       "letters, digits, spaces and . + - / ( ) & , : # ' * on one line, "
                       "starting with a letter or digit, e.g. --algorithm PPO")
    return text


def check_description(text: str | None) -> str | None:
    """Printable text of up to 500 characters over one or more lines, or None when not given."""
    text = _given(None if text is None else re.sub(r"\r\n?", "\n", text), strip=" \n")
    if text is None:
        return None
    bad = first_control_character(text.replace("\n", ""))
    if bad is not None:
        raise BadInput(f"description contains the control character {describe_character(bad)}: "
                       "remove it (plain text and line breaks only)")
    if not _DESCRIPTION.fullmatch(text):
        raise BadInput(f"description is {len(text)} characters long: shorten it to at most "
                       f"{MAX_DESCRIPTION}")
    return text


def check_source_url(text: str | None) -> str | None:
    """An http(s) address without credentials, of up to 300 characters, or None when not given."""
    text = _given(text)
    if text is None:
        return None
    fix = (f"give an http:// or https:// address of at most {MAX_SOURCE_URL} characters with a "
           "host name, no user or password, and spaces or quotes percent-encoded, e.g. "
           "--source-url https://github.com/me/my-agent")
    if len(text) > MAX_SOURCE_URL:
        raise BadInput(f"source_url is {len(text)} characters long: {fix}")
    if not _SOURCE_URL.fullmatch(text):
        raise BadInput(f"source_url {text[:80]!r} is not allowed: {fix}")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise BadInput(f"source_url {text[:80]!r} is not a valid address: {fix}") from None
    if "@" in parts.netloc:
        raise BadInput("source_url must not carry a user name or password (user:pass@): "
                       "remove them; the address is shown to everyone")
    if not parts.hostname or not _HOST.fullmatch(parts.hostname):
        raise BadInput(f"source_url {text[:80]!r} has no valid host name: {fix}")
    return text


def _given(text: str | None, strip: str = " ") -> str | None:
    """``text`` without surrounding spaces (or other ``strip`` characters), or None when it is
    empty or not given; any other control character stays, to be refused."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise BadInput("agent metadata must be text")
    return text.strip(strip) or None


def upload_limits(settings: Settings) -> BundleLimits:
    """Bundle limits from the settings' upload size."""
    upload = settings.max_upload_mb * _MIB
    return BundleLimits(max_upload_bytes=upload,
                        max_total_bytes=max(DEFAULT_LIMITS.max_total_bytes, upload))


def check_env(env_id: str) -> envs.EnvSpec:
    """The env's spec, or BadInput pointing at `rl-arena env list`."""
    try:
        return envs.spec(env_id)
    except BadInput as exc:
        raise BadInput(f"{exc} (see `rl-arena env list`)") from None


def check_env_open(env_id: str) -> envs.EnvSpec:
    """The env's spec if it exists and takes submissions, else BadInput saying why."""
    env = check_env(env_id)
    if not env_enabled(env.id):
        raise BadInput(f"environment {env.id} is disabled by the organisers and takes no "
                       "submissions now: try again when it is enabled")
    return env


def submit(ref: str, *, env_id: str, name: str, owner_email: str | None = None,
           house: bool = False, enqueue: bool = True,
           metadata: Metadata = NO_METADATA) -> Submission:
    """Validate an upload, store it, create the submission and enqueue its build.

    The owner is a person (``owner_email``) or, for the platform's own agents only, the house.
    Everything is checked before anything is stored: a refused upload leaves no artifact and
    no rows behind. An artifact is never deleted here: another submission may share its content.
    """
    settings = get_settings()
    env = check_env_open(env_id)
    check_name(name)
    metadata = check_metadata(metadata)
    if house == (owner_email is not None):
        raise ValueError("give either owner_email or house=True")
    if owner_email is not None:
        _check_limits_early(check_owner(owner_email), env.id, name, settings)
    bundle = load_bundle(ref, env_id=env.id, limits=upload_limits(settings))
    return _accept(bundle, env.id, name, owner_email, metadata, enqueue=enqueue)


def submit_upload(account: Account | None, *, env_id: str, name: str, filename: str,
                  data: bytes, enqueue: bool = True,
                  metadata: Metadata = NO_METADATA) -> Submission:
    """Submit an uploaded file (its name and bytes) as a new version of the account's agent.

    For network callers: nothing here reads a path on the server. The file name says what the
    upload is (.py, .onnx, .zip, .tar, .tar.gz or .tgz); its folders, if a browser sent any, are
    dropped.
    Every upload, refused or not, counts against the account's RL_ARENA_RATE_LIMIT_UPLOADS.
    """
    if account is None:
        raise NotSignedIn("log in (or send an API token) to submit an agent")
    if account.house:
        raise NotAllowed("the house account does not submit through the dashboard or the API")
    rate_limits.hit(rate_limits.UPLOADS, rate_limits.account_key(account))  # refused ones too
    settings = get_settings()
    env = check_env_open(env_id)
    check_name(name)
    metadata = check_metadata(metadata)
    filename = upload_name(filename)
    _check_limits_early(account.email, env.id, name, settings)
    limits = upload_limits(settings)
    if len(data) > limits.max_upload_bytes:
        raise upload_too_big(filename, limits.max_upload_bytes)
    bundle = bundle_from_bytes(data, ref=filename, limits=limits)
    return _accept(bundle, env.id, name, account.email, metadata, enqueue=enqueue)


def upload_name(filename: str) -> str:
    """An upload's file name without any folders, checked: a name we can show and store."""
    return _check_file_name(PurePosixPath(filename.replace("\\", "/")).name.strip(),
                            suffixes=UPLOAD_SUFFIXES)


def _check_file_name(name: str, *, suffixes: tuple[str, ...] = ()) -> str:
    """A file name as given if we can show and store it (and it ends in one of ``suffixes``,
    when given), else BadAgent saying what to change: control characters first, then the kind
    of file, then the length."""
    bad = first_control_character(name)
    if bad is not None:
        raise BadAgent(f"the file name {name[:60]!r} contains the control character "
                       f"{describe_character(bad)}: rename the file")
    if suffixes and not name.lower().endswith(suffixes):
        raise BadAgent(f"{name[:60]!r} is not an agent upload: send agent.py, an ONNX policy "
                       "(.onnx), or a .zip, .tar, .tar.gz or .tgz with agent.py (or main.py, or "
                       "policy.onnx) at its root")
    if len(name) > MAX_ARTIFACT_NAME:
        raise BadAgent(f"the file name {name[:40]!r}… is longer than {MAX_ARTIFACT_NAME} "
                       "characters: rename the file")
    return name


def _accept(bundle: AgentBundle, env_id: str, name: str, owner_email: str | None,
            metadata: Metadata, *, enqueue: bool) -> Submission:
    """Check an ONNX policy's model against the env, then store the bundle, create its version
    and enqueue its build."""
    check_policy(bundle, envs.spec(env_id))
    settings = get_settings()
    artifact_name = _artifact_name(bundle)
    queue = builds_queue() if enqueue else None  # Redis down: refuse before storing
    store_bundle(bundle)
    submission = _create(bundle.digest, artifact_name, env_id, name, owner_email, metadata,
                         settings)
    announce(submission)
    if queue is not None:
        enqueue_build(submission.id)
    return submission


def _artifact_name(bundle: AgentBundle) -> str:
    """What the submitter gave: builtin:NAME or the upload's file name (no control characters)."""
    if bundle.builtin is not None:
        return f"{BUILTIN_PREFIX}{bundle.builtin}"
    return _check_file_name(Path(bundle.ref).name) or "agent"


@retry(retry=retry_if_exception_type(IntegrityError), stop=stop_after_attempt(CREATE_ATTEMPTS),
       wait=wait_random_exponential(multiplier=0.01, max=0.5), reraise=True)
def _create(digest: str, artifact_name: str, env_id: str, name: str, owner_email: str | None,
            metadata: Metadata, settings: Settings) -> Submission:
    """Create (or reuse) owner and agent and add the next version, in one transaction.

    Concurrent submits race on the unique owner email, agent name and version number: the loser's
    transaction rolls back whole and is tried again, and then sees the winner's rows. The owner's
    row is locked first (PostgreSQL), so limits are counted one submit at a time.
    """
    with session_scope() as session:
        owner = (ensure_house(session=session) if owner_email is None
                 else ensure_user(owner_email, session=session))
        agent = _agent_named(owner.id, env_id, name, session=session)
        if not owner.is_house:
            _lock_owner(owner, session=session)
            check_limits(owner, env_id, settings=settings, session=session,
                         new_agent=agent is None or agent.retired_at is not None)
        if agent is None:
            agent = Agent(owner_id=owner.id, env_id=env_id, name=name)
            session.add(agent)
            session.flush()
        elif agent.retired_at is not None:
            agent.retired_at = None  # a new version brings a retired agent back
            session.add(agent)
        previous = session.exec(select(Submission).where(Submission.agent_id == agent.id)
                                .order_by(Submission.version.desc())).first()
        rating = previous.rating if previous is not None else settings.elo_start
        submission = Submission(
            agent_id=agent.id, env_id=env_id,
            version=1 if previous is None else previous.version + 1,
            artifact_sha256=digest, artifact_name=artifact_name,
            algorithm=metadata.algorithm, description=metadata.description,
            source_url=metadata.source_url, initial_rating=rating, rating=rating, games=0)
        session.add(submission)
        session.flush()
        session.add(SubmissionEvent(submission_id=submission.id, status=submission.status,
                                    at=submission.created_at))
    return submission


def _agent_named(owner_id: int, env_id: str, name: str, *, session: Session) -> Agent | None:
    """The owner's agent of this name in the env, if there is one."""
    return session.exec(select(Agent).where(
        Agent.owner_id == owner_id, Agent.env_id == env_id, Agent.name == name)).first()


def _lock_owner(owner: User, *, session: Session) -> None:
    """Hold the owner's row until the transaction ends, so that limits are counted one submit at
    a time."""
    # A no-op write rather than SELECT ... FOR UPDATE: it locks the row on PostgreSQL and also
    # takes SQLite's single write lock (which FOR UPDATE does not).
    session.exec(update(User).where(User.id == owner.id).values(is_house=User.is_house))


def _check_limits_early(email: str, env_id: str, name: str, settings: Settings) -> None:
    """LimitExceeded for an owner already at a limit, before the upload is read or stored (the
    version's transaction counts again, locked)."""
    with session_scope() as session:
        owner = session.exec(select(User).where(User.email == email)).first()
        if owner is None or owner.is_house:
            return
        agent = _agent_named(owner.id, env_id, name, session=session)
        check_limits(owner, env_id, settings=settings, session=session,
                     new_agent=agent is None or agent.retired_at is not None)
