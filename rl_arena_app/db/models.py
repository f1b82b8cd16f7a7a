"""Every table of the platform: the database is the source of truth."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, UniqueConstraint, text, true
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp, read back aware on every database (SQLite's come naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _when(**kw) -> Field:
    """A timezone-aware timestamp column."""
    return Field(sa_column=Column(UTCDateTime(), **kw))


class SubmissionStatus(StrEnum):
    """Lifecycle of an uploaded agent version."""

    QUEUED = "queued"
    BUILDING = "building"
    VALIDATING = "validating"
    READY = "ready"
    FAILED = "failed"


class MatchStatus(StrEnum):
    """Lifecycle of a scheduled duel."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


OPEN_MATCH = (MatchStatus.QUEUED, MatchStatus.RUNNING)


class User(SQLModel, table=True):
    """A person (or the house) who owns agents."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=320)
    name: str = Field(default="", max_length=200)
    is_admin: bool = False
    is_house: bool = False  # house agents are exempt from the same-owner rule
    created_at: datetime = _when(nullable=False, default=utcnow)


class Agent(SQLModel, table=True):
    """A named agent of one owner in one environment; its code lives in submissions."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("owner_id", "env_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", index=True)
    env_id: str = Field(index=True, max_length=100)
    name: str = Field(max_length=100)
    created_at: datetime = _when(nullable=False, default=utcnow)
    retired_at: datetime | None = _when(nullable=True)  # no more matches; history kept


class Submission(SQLModel, table=True):
    """One version of an agent: frozen code, so its rating belongs to it."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("agent_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agents.id", index=True)
    env_id: str = Field(index=True, max_length=100)  # denormalised from the agent for queries
    version: int = 1
    artifact_sha256: str = Field(max_length=64)
    artifact_name: str = Field(max_length=255)
    # What the submitter says of the version (optional, checked at intake, shown as text)
    algorithm: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=500)
    source_url: str | None = Field(default=None, max_length=300)
    image: str | None = Field(default=None, max_length=255)
    status: str = Field(default=SubmissionStatus.QUEUED, index=True, max_length=20)
    reason: str | None = Field(default=None, max_length=2000)
    log_tail: str | None = None
    # Elo: starts from the predecessor's rating, stored so a rebuild reproduces it exactly.
    initial_rating: float = 1500.0
    rating: float = 1500.0
    games: int = 0  # rated games played
    wins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    draws: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    losses: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # forfeits too
    # Bradley-Terry, refreshed periodically
    bt_rating: float | None = None
    bt_low: float | None = None
    bt_high: float | None = None
    bt_rank_ub: int | None = None
    # Solo environments: mean return over the season's secret scoring seeds
    score_mean: float | None = None
    score_std: float | None = None
    waited_ticks: int = 0  # matchmaking ticks since its last match was made
    validation_replay: str | None = Field(default=None, max_length=500)  # under the data dir
    created_at: datetime = _when(nullable=False, default=utcnow)
    updated_at: datetime = _when(nullable=False, default=utcnow)


class Match(SQLModel, table=True):
    """A duel between two submissions, played by a worker."""

    __tablename__ = "matches"

    id: int | None = Field(default=None, primary_key=True)
    env_id: str = Field(index=True, max_length=100)
    # Seeds are unsigned 32-bit (referee.derive_seed): past PostgreSQL's signed INTEGER.
    # SQLite's INTEGER holds 64 bits already (migration 0005 leaves it).
    seed: int = Field(sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                       nullable=False))
    player_a_id: int = Field(foreign_key="submissions.id", index=True)
    player_b_id: int = Field(foreign_key="submissions.id", index=True)
    status: str = Field(default=MatchStatus.QUEUED, index=True, max_length=20)
    attempts: int = 0
    deadline: datetime | None = _when(nullable=True)  # a running match past it is re-enqueued
    worker: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, max_length=2000)
    replay_path: str | None = Field(default=None, max_length=500)
    points_a: float | None = None
    points_b: float | None = None
    created_at: datetime = _when(nullable=False, default=utcnow)
    started_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True, index=True)


class Game(SQLModel, table=True):
    """One game of a finished match; rated in id order."""

    __tablename__ = "games"
    __table_args__ = (UniqueConstraint("match_id", "index"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="matches.id", index=True)
    index: int
    env_id: str = Field(index=True, max_length=100)
    player_a_id: int = Field(foreign_key="submissions.id", index=True)
    player_b_id: int = Field(foreign_key="submissions.id", index=True)
    first: int  # 0: player a moved first
    outcome: str = Field(max_length=20)  # win | draw | forfeit
    score_a: float  # 1 win, 0.5 draw, 0 loss or forfeit, for player a
    forfeit_player: int | None = None  # 0 (a) or 1 (b)
    forfeit_reason: str | None = Field(default=None, max_length=40)
    forfeit_detail: str | None = Field(default=None, max_length=2000)
    steps: int = 0
    duration_s: float = 0.0
    played_at: datetime = _when(nullable=False, default=utcnow, index=True)


class RatingEvent(SQLModel, table=True):
    """A submission's Elo before and after one game."""

    __tablename__ = "rating_events"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    game_id: int = Field(foreign_key="games.id", index=True)
    before: float
    after: float
    at: datetime = _when(nullable=False, default=utcnow)


class EnvState(SQLModel, table=True):
    """Per-environment platform state."""

    __tablename__ = "env_state"

    env_id: str = Field(primary_key=True, max_length=100)
    # Disabled: no new submissions and no new matches.
    enabled: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    matchmaking_paused: bool = False
    tick: int = 0
    last_tick_at: datetime | None = _when(nullable=True)
    bt_refreshed_at: datetime | None = _when(nullable=True)
    # Solo envs: the season whose secret seeds score versions (a new season rescores them all).
    season: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # The audit entry of the new-season action that started it: a retry of that action (its
    # worker died) finds its season started and starts no other.
    season_started_by: int | None = None


class SubmissionEvent(SQLModel, table=True):
    """A submission's status change, with its time: the timeline of a version."""

    __tablename__ = "submission_events"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    status: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=2000)
    at: datetime = _when(nullable=False, default=utcnow)


class BTEstimate(SQLModel, table=True):
    """A submission's Bradley-Terry estimate after a refresh that changed it."""

    __tablename__ = "bt_estimates"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    env_id: str = Field(index=True, max_length=100)
    rating: float
    low: float
    high: float
    rank_ub: int
    games: int
    at: datetime = _when(nullable=False, default=utcnow)


class Identity(SQLModel, table=True):
    """A login of a user at an identity provider (GitHub, Google, an OpenID Connect issuer)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    provider: str = Field(max_length=40)
    subject: str = Field(max_length=255)
    email: str = Field(max_length=320)  # the verified email it came with
    created_at: datetime = _when(nullable=False, default=utcnow)
    last_login_at: datetime = _when(nullable=False, default=utcnow)


class WebSession(SQLModel, table=True):
    """A browser's login, held on the server; the browser keeps a signed, opaque cookie."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = _when(nullable=False, default=utcnow)
    expires_at: datetime = _when(nullable=False)
    revoked_at: datetime | None = _when(nullable=True)


class ApiToken(SQLModel, table=True):
    """A personal API token (stored hashed; shown once), scoped to submitting or to admin."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)  # the token's first characters, to recognise it
    token_hash: str = Field(unique=True, index=True, max_length=64)
    scope: str = Field(max_length=20)  # submit | admin
    created_at: datetime = _when(nullable=False, default=utcnow)
    last_used_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)


_RUNNING = text("outcome = 'running'")


class AuditEntry(SQLModel, table=True):
    """Who did what to the arena, when, and how it went (admin actions and refusals).

    Refusals of one actor and action within a window are one row that counts them
    (``services.audit``); a long action runs once per action and target at a time.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ux_audit_log_refusals", "actor", "action", "window_start", unique=True),
        Index("ux_audit_log_running", "action", "target", unique=True,
              sqlite_where=_RUNNING, postgresql_where=_RUNNING),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(nullable=False, default=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    # The email, "cli" for a shell, "provider:subject" for a refused login, "anonymous" (old rows)
    actor: str = Field(max_length=320)
    action: str = Field(max_length=100)
    target: str = Field(default="", max_length=200)
    outcome: str = Field(max_length=20)  # running | ok | failed | refused
    detail: str = Field(default="", max_length=2000)
    progress: float | None = None  # 0..1 while a long action runs
    finished_at: datetime | None = _when(nullable=True)
    count: int = Field(default=1, sa_column_kwargs={"server_default": "1"})  # refusals counted
    last_at: datetime | None = _when(nullable=True)  # the last refusal counted here
    window_start: datetime | None = _when(nullable=True)  # refusals: the window they count in
