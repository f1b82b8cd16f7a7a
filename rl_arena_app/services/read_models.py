"""Typed read models: what every front end (CLI, dashboard, REST API) shows of the arena.

Frozen dataclasses of plain values (no ORM objects), built by the query functions of the services
(catalog, ratings, submissions, matches, accounts, admin, feed, status). Emails are people's
private data: the models that carry one name the field ``*_email`` and public front ends leave
it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AgentRef:
    """An agent version as a link: who played."""

    agent_id: int
    name: str
    version: int
    submission_id: int
    owner_name: str


# ------------------------------------------------------------------------------------ envs


@dataclass(frozen=True, slots=True)
class Leader:
    """The top of an environment's leaderboard."""

    agent_id: int
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class EnvCard:
    """An environment in the catalog, with its matchmaking state and activity."""

    env_id: str
    kind: str  # duel | solo
    version: str
    description: str
    enabled: bool
    paused: bool
    matchmaking: str  # running | paused | disabled | scored at validation
    tick: int
    last_tick_at: datetime | None
    bt_refreshed_at: datetime | None
    agents: int  # agents with a ready version
    games: int
    games_24h: int
    leader: Leader | None


@dataclass(frozen=True, slots=True)
class GuideRow:
    """One row of a table of the environment guide (an observation component, an action, an
    info key or a limit)."""

    key: str
    name: str
    values: str
    meaning: str


@dataclass(frozen=True, slots=True)
class EnvGuide:
    """How to write an agent for an environment (the EnvSpec's own documentation)."""

    env_id: str
    kind: str
    summary: str
    contract: str  # Markdown
    observation: str  # Markdown
    observation_shape: str
    observation_dtype: str
    components: list[GuideRow]
    action: str  # Markdown
    actions: list[GuideRow]
    info: list[GuideRow]
    reward: str
    episode_end: str
    scoring: str
    limits: list[GuideRow]
    tips: list[str]
    starter_name: str
    starter_about: str
    starter_source: str
    starter_command: str
    play_command: str
    kaggle: str | None = None  # board games: how a Kaggle-format agent sees them (Markdown)
    onnx: str = ""  # how an ONNX policy fits the env (Markdown)


# ----------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One agent on its environment's leaderboard: its current (latest ready) version."""

    rank: int  # by score (Elo for duels, mean return for solo tasks), whatever the sort
    agent_id: int
    name: str
    owner_name: str
    owner_email: str  # private: the CLI shows it, public front ends do not
    house: bool
    submission_id: int
    version: int
    algorithm: str | None  # as its submitter named it
    score: float
    elo: float | None
    games: int
    wins: int
    draws: int
    losses: int
    provisional: bool
    bt_rating: float | None
    bt_low: float | None
    bt_high: float | None
    rank_ub: int | None
    score_mean: float | None  # solo tasks
    score_std: float | None
    score_low: float | None  # 95% interval of the mean return
    score_high: float | None
    episodes: int | None
    retired: bool  # plays no more; its rating stays


@dataclass(frozen=True, slots=True)
class LeaderboardPage:
    """A page of a leaderboard as sorted, searched and paged on the server."""

    env_id: str
    kind: str
    rows: list[LeaderboardRow]
    total: int  # rows matching the search
    offset: int
    limit: int
    sort: str
    descending: bool
    search: str
    provisional_games: int


@dataclass(frozen=True, slots=True)
class HeadToHead:
    """Results between the leaders: ``games[i][j]`` played and ``score[i][j]`` scored by agent i
    against agent j (a win 1, a draw 1/2), every version of both counted."""

    env_id: str
    agents: list[AgentRef]  # the leaders' current versions, best first
    games: list[list[int]]
    score: list[list[float]]


# ---------------------------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One step of a version's timeline."""

    status: str
    at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class VersionView:
    """One version (submission) of an agent."""

    submission_id: int
    version: int
    status: str
    reason: str | None
    log_tail: str | None
    artifact_name: str
    sha256: str
    image: str | None
    algorithm: str | None  # what the submitter says of the version (text, never markup)
    description: str | None
    source_url: str | None  # http(s) only
    created_at: datetime
    updated_at: datetime
    elo: float
    initial_elo: float
    games: int
    wins: int
    draws: int
    losses: int
    bt_rating: float | None
    bt_low: float | None
    bt_high: float | None
    score_mean: float | None
    score_std: float | None
    has_validation_replay: bool
    timeline: list[StatusChange]


@dataclass(frozen=True, slots=True)
class OpponentRecord:
    """An agent's results against one opponent agent (all versions of both)."""

    opponent: AgentRef
    games: int
    wins: int
    draws: int
    losses: int
    expected_score: float  # sum over the games of the Elo expectation before each game
    actual_score: float


@dataclass(frozen=True, slots=True)
class ForfeitCount:
    """How often an agent forfeited, by reason."""

    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent with every version, its records and its recent matches."""

    agent_id: int
    name: str
    env_id: str
    kind: str
    owner_id: int
    owner_name: str
    house: bool
    created_at: datetime
    retired_at: datetime | None  # a retired agent plays no more matches
    current: VersionView | None  # the version on the leaderboard
    versions: list[VersionView]  # newest first
    opponents: list[OpponentRecord]
    forfeits: list[ForfeitCount]
    recent_matches: list[MatchSummary]


@dataclass(frozen=True, slots=True)
class RatingPoint:
    """An agent's Elo after one game."""

    game_id: int
    game_number: int  # 1, 2, ... across every version of the agent
    submission_id: int
    version: int
    at: datetime
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class BTPoint:
    """An agent version's Bradley-Terry estimate after a refresh that changed it."""

    submission_id: int
    version: int
    at: datetime
    rating: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class RatingHistory:
    """The data of an agent's rating chart."""

    agent_id: int
    elo: list[RatingPoint]
    bradley_terry: list[BTPoint]


# --------------------------------------------------------------------------------- matches


@dataclass(frozen=True, slots=True)
class Side:
    """One player of a match, with its points and Elo change over the match."""

    agent: AgentRef
    points: float | None
    elo_before: float | None
    elo_after: float | None


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """A match in a list."""

    match_id: int
    env_id: str
    status: str  # queued | running | finished | failed
    a: Side
    b: Side
    created_at: datetime
    finished_at: datetime | None
    forfeits: int
    error: str | None


@dataclass(frozen=True, slots=True)
class MatchPage:
    """A page of matches, newest first, with the filters applied."""

    matches: list[MatchSummary]
    total: int
    offset: int
    limit: int
    env_id: str | None
    agent_id: int | None
    status: str | None


@dataclass(frozen=True, slots=True)
class GameView:
    """One game of a match, as recorded."""

    index: int
    first: str  # "a" or "b": who moved first
    outcome: str  # win | draw | forfeit
    winner: str | None  # "a", "b" or None
    score_a: float
    forfeit_side: str | None
    forfeit_reason: str | None
    forfeit_detail: str | None
    steps: int
    duration_s: float
    elo_a_before: float | None
    elo_a_after: float | None
    elo_b_before: float | None
    elo_b_after: float | None


@dataclass(frozen=True, slots=True)
class MatchDetail:
    """A match with its games, seed, environment version and images."""

    summary: MatchSummary
    seed: int
    attempts: int
    worker: str | None
    started_at: datetime | None
    env_version: str | None  # from the replay
    images: list[str | None]  # image of a, image of b
    games: list[GameView]
    has_replay: bool


# ---------------------------------------------------------------------------------- replays


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """One move: who, what, how long, and the state after it."""

    seat: int
    agent: int  # 0 or 1 in the replay's order of agents
    action: int | None  # None: withheld (a scoring run of the running season)
    time_s: float
    rewards: list[float]
    state: str | list[float]  # [] when withheld


@dataclass(frozen=True, slots=True)
class ReplayGame:
    """One game or episode of a replay."""

    index: int
    seed: int | None  # None: a secret scoring seed of the running season
    seat_agents: list[int]
    initial_state: str | list[float]  # [] when withheld
    steps: list[ReplayStep]
    returns: list[float]
    winner: int | None
    forfeit_agent: int | None
    forfeit_reason: str | None
    forfeit_detail: str | None


@dataclass(frozen=True, slots=True)
class ReplayView:
    """A stored replay, parsed: a match's games or a validation's games/episodes."""

    env_id: str
    env_version: str
    kind: str
    seed: int | None  # None: a secret scoring seed of the running season
    agents: list[str]  # display names, in the replay's agent order
    images: list[str | None]
    games: list[ReplayGame]
    download_name: str
    # A scoring run of the running season: its seeds, observations and actions are withheld
    # (with them, anyone could replay a leader's episodes move for move).
    withheld: bool = False


# ------------------------------------------------------------------------------- live feed


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One line of the live feed."""

    kind: str  # match_finished | submission_ready | submission_failed
    at: datetime
    env_id: str
    text: str
    agent_ids: list[int] = field(default_factory=list)
    match_id: int | None = None  # a match's line is about the match, others about the agent


# ---------------------------------------------------------------------------------- status


@dataclass(frozen=True, slots=True)
class WorkerView:
    """An RQ worker as Redis knows it."""

    name: str
    pid: int | None
    hostname: str | None
    state: str
    current_job: str | None
    queues: list[str]


@dataclass(frozen=True, slots=True)
class QueueView:
    """Job counts of one queue."""

    name: str
    queued: int
    started: int
    failed: int
    scheduled: int


@dataclass(frozen=True, slots=True)
class EnvHealth:
    """An environment's scheduler state."""

    env_id: str
    matchmaking: str
    tick: int
    last_tick_at: datetime | None
    bt_refreshed_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatusView:
    """The platform at a glance."""

    redis: str  # "up" or "down: why"
    scheduler: str | None  # the active scheduler's name
    workers: list[WorkerView]
    queues: list[QueueView]
    matches: dict[str, int]
    submissions: dict[str, int]
    games: int
    rating_events: int
    envs: list[EnvHealth]
    workers_alive: int  # workers whose process is there (busy or idle)
    checked_at: datetime


# --------------------------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class Account:
    """A person who can log in (or the house): who acts, and whether as an admin."""

    user_id: int
    email: str
    name: str
    is_admin: bool
    house: bool


@dataclass(frozen=True, slots=True)
class TokenView:
    """An API token as its owner sees it (never the token itself, which is shown once)."""

    token_id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class AuditView:
    """One entry of the audit log."""

    entry_id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    detail: str
    progress: float | None
    finished_at: datetime | None
    count: int = 1  # refusals of the actor and action counted on this entry
    last_at: datetime | None = None  # the last refusal counted (None: not a refusal)


@dataclass(frozen=True, slots=True)
class AuditPage:
    """A page of the audit log, newest first, with the filters applied."""

    entries: list[AuditView]
    total: int
    offset: int
    limit: int
    actor: str | None
    action: str | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class SubmissionView:
    """One submitted version with its agent, as anyone may see it (no owner email)."""

    agent: AgentRef
    env_id: str
    kind: str
    retired: bool
    version: VersionView


@dataclass(frozen=True, slots=True)
class MyAgent:
    """One of a submitter's agents, with its latest version's state."""

    agent_id: int
    env_id: str
    name: str
    retired: bool
    latest: VersionView | None
    current_elo: float | None
    current_score: float | None


@dataclass(frozen=True, slots=True)
class Quota:
    """How much of a limit a submitter has used, and when it frees up."""

    used: int
    limit: int
    resets_at: datetime | None
