"""Leaderboards: one row per agent (its latest ready version), sorted, searched and paged.

A leaderboard is read from the database (the truth) as one snapshot of every shown row, ranked
by score (Elo for duels, mean return for solo tasks; the later submission first on ties); sorts,
searches and pages are then cut from the snapshot in memory. Snapshots are cached per process
under the env's data version (services.events), so the many readers of a busy board share one
query until the next event of its env moves the version.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from scipy import stats
from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.arena.outcomes import BadInput
from rl_arena_app.db.models import Agent, Game, Submission, SubmissionStatus, User
from rl_arena_app.db.session import get_engine, session_scope
from rl_arena_app.services.events import data_version
from rl_arena_app.services.read_models import (
    AgentRef,
    HeadToHead,
    LeaderboardPage,
    LeaderboardRow,
)
from rl_arena_app.settings import get_settings

MAX_LIMIT = 200
MAX_SEARCH = 100
SORTS = ("rank", "elo", "bt", "rank_ub", "games", "wins", "losses", "name", "owner", "version")
CACHED_SNAPSHOTS = 16


def score_of(submission: Submission, kind: str) -> float | None:
    """The leaderboard score of a submission: Elo for duels, mean return for solo tasks."""
    return submission.rating if kind == "duel" else submission.score_mean


def current_versions(env_id: str):
    """WHERE clauses: ready submissions of the env that are their agent's latest ready one."""
    later = aliased(Submission)
    newer = (select(later.id).where(later.agent_id == Submission.agent_id,
                                     later.status == SubmissionStatus.READY,
                                     later.version > Submission.version).exists())
    return (Submission.env_id == env_id, Submission.status == SubmissionStatus.READY, ~newer)


# ---------------------------------------------------------------------------- the snapshot


class _Entry(NamedTuple):
    """A shown row as read from the database (the snapshot's unit; a tuple: 10,000 are cheap)."""

    submission_id: int
    agent_id: int
    version: int
    rating: float
    games: int
    wins: int
    draws: int
    losses: int
    bt_rating: float | None
    bt_low: float | None
    bt_high: float | None
    rank_ub: int | None
    score_mean: float | None
    score_std: float | None
    name: str
    owner_name: str
    owner_email: str
    house: bool
    retired: bool


_COLUMNS = (Submission.id, Submission.agent_id, Submission.version, Submission.rating,
            Submission.games, Submission.wins, Submission.draws, Submission.losses,
            Submission.bt_rating, Submission.bt_low, Submission.bt_high, Submission.bt_rank_ub,
            Submission.score_mean, Submission.score_std, Agent.name, User.name, User.email,
            User.is_house, Agent.retired_at.is_not(None))


def _read_snapshot(env_id: str, kind: str) -> list[_Entry]:
    """Every shown row of the env, best first: each agent's latest ready version, scored."""
    query = (select(*_COLUMNS).join(Agent, Agent.id == Submission.agent_id)
             .join(User, User.id == Agent.owner_id)
             .where(Submission.env_id == env_id, Submission.status == SubmissionStatus.READY))
    with get_engine().connect() as connection:  # Core rows: no ORM bookkeeping for 10,000
        rows = connection.execute(query).all()
    latest: dict[int, _Entry] = {}
    for row in rows:
        entry = _Entry._make(row)
        held = latest.get(entry.agent_id)
        if held is None or entry.version > held.version:
            latest[entry.agent_id] = entry
    scored = [e for e in latest.values() if _score(e, kind) is not None]
    scored.sort(key=lambda e: (_score(e, kind), e.submission_id), reverse=True)
    return scored


def _score(entry: _Entry, kind: str) -> float | None:
    return entry.rating if kind == "duel" else entry.score_mean


class _SnapshotCache:
    """The newest snapshots, by (env, data version); thread-safe, least recently used out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str], list[_Entry]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, env_id: str, kind: str) -> list[_Entry]:
        version = data_version(env_id)
        if version is None:  # Redis cannot say what changed: read the truth
            return _read_snapshot(env_id, kind)
        key = (env_id, version)
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        snapshot = _read_snapshot(env_id, kind)
        with self.lock:
            self.entries[key] = snapshot
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return snapshot

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_CACHE = _SnapshotCache(CACHED_SNAPSHOTS)


# -------------------------------------------------------------------------------- the page


_SORT_KEYS = {
    "elo": lambda e: e.rating, "bt": lambda e: e.bt_rating, "rank_ub": lambda e: e.rank_ub,
    "games": lambda e: e.games, "wins": lambda e: e.wins, "losses": lambda e: e.losses,
    "name": lambda e: e.name.lower(), "owner": lambda e: e.owner_name.lower(),
    "version": lambda e: e.version}


def check_page_args(sort: str, search: str, offset: int, limit: int) -> None:
    """BadInput for a sort, search or page a person could not have meant."""
    if sort not in SORTS:
        raise BadInput(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    if len(search) > MAX_SEARCH or any(ord(c) < 32 for c in search):
        raise BadInput(f"search must be at most {MAX_SEARCH} printable characters")
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"page out of range: offset >= 0 and 1 <= limit <= {MAX_LIMIT}")


def leaderboard_page(env_id: str, *, sort: str = "rank", descending: bool = False,
                     search: str = "", offset: int = 0, limit: int = 50) -> LeaderboardPage:
    """A page of the env's leaderboard: sorted (rows without the value last, ties by rank),
    searched by agent or owner name (case-insensitive substring) and paged, on the server."""
    kind = envs.spec(env_id).kind
    search = search.strip()
    check_page_args(sort, search, offset, limit)
    ranked = list(enumerate(_CACHE.get(env_id, kind), start=1))
    if search:
        needle = search.lower()
        ranked = [(rank, e) for rank, e in ranked
                  if needle in e.name.lower() or needle in e.owner_name.lower()]
    if sort == "rank":
        if descending:
            ranked.reverse()
    else:
        key = _SORT_KEYS[sort]
        present = [(rank, e) for rank, e in ranked if key(e) is not None]
        present.sort(key=lambda item: item[0])
        present.sort(key=lambda item: key(item[1]), reverse=descending)
        ranked = present + [(rank, e) for rank, e in ranked if key(e) is None]
    episodes = envs.spec(env_id).episodes if kind == "solo" else None
    rows = [_row(rank, entry, kind, episodes) for rank, entry in ranked[offset:offset + limit]]
    return LeaderboardPage(env_id=env_id, kind=kind, rows=rows, total=len(ranked),
                           offset=offset, limit=limit, sort=sort, descending=descending,
                           search=search, provisional_games=get_settings().provisional_games)


def _row(rank: int, entry: _Entry, kind: str, episodes: int | None) -> LeaderboardRow:
    """One leaderboard row."""
    low, high = _mean_interval(entry.score_mean, entry.score_std, episodes)
    return LeaderboardRow(
        rank=rank, agent_id=entry.agent_id, name=entry.name, owner_name=entry.owner_name,
        owner_email=entry.owner_email, house=entry.house, submission_id=entry.submission_id,
        version=entry.version, score=_score(entry, kind),
        elo=entry.rating if kind == "duel" else None, games=entry.games, wins=entry.wins,
        draws=entry.draws, losses=entry.losses,
        provisional=kind == "duel" and entry.games < get_settings().provisional_games,
        bt_rating=entry.bt_rating, bt_low=entry.bt_low, bt_high=entry.bt_high,
        rank_ub=entry.rank_ub, score_mean=entry.score_mean, score_std=entry.score_std,
        score_low=low, score_high=high, episodes=episodes, retired=entry.retired)


def _mean_interval(mean: float | None, std: float | None,
                   episodes: int | None) -> tuple[float | None, float | None]:
    """95% interval of a mean return over ``episodes`` (Student's t; ``std`` is the population
    standard deviation of the episodes' returns)."""
    if mean is None or std is None or not episodes or episodes < 2:
        return None, None
    half = float(stats.t.ppf(0.975, episodes - 1)) * std / math.sqrt(episodes - 1)
    return mean - half, mean + half


def head_to_head(env_id: str, limit: int = 15) -> HeadToHead:
    """Games and scores between the top ``limit`` agents of a duel env (all their versions)."""
    rows = leaderboard_page(env_id, limit=limit).rows
    position = {row.agent_id: k for k, row in enumerate(rows)}
    n = len(rows)
    games = [[0] * n for _ in range(n)]
    score = [[0.0] * n for _ in range(n)]
    side_a, side_b = aliased(Submission), aliased(Submission)
    with session_scope() as session:
        played = session.exec(
            select(side_a.agent_id, side_b.agent_id, func.count(), func.sum(Game.score_a))
            .join(side_a, side_a.id == Game.player_a_id)
            .join(side_b, side_b.id == Game.player_b_id)
            .where(Game.env_id == env_id, side_a.agent_id.in_(list(position)),
                   side_b.agent_id.in_(list(position)))
            .group_by(side_a.agent_id, side_b.agent_id)).all()
    for agent_a, agent_b, count, points in played:
        i, j = position[agent_a], position[agent_b]
        games[i][j] += count
        games[j][i] += count
        score[i][j] += float(points or 0.0)
        score[j][i] += count - float(points or 0.0)
    agents = [AgentRef(agent_id=r.agent_id, name=r.name, version=r.version,
                       submission_id=r.submission_id, owner_name=r.owner_name) for r in rows]
    return HeadToHead(env_id=env_id, agents=agents, games=games, score=score)


def leaderboard(env_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The first ``limit`` rows as plain dicts: the keys `rl-arena leaderboard --json` prints."""
    page = leaderboard_page(env_id, limit=min(limit, MAX_LIMIT))
    rows = page.rows
    if limit > MAX_LIMIT:  # the CLI may ask for more than a page
        rows = [*rows, *_more(env_id, MAX_LIMIT, limit - MAX_LIMIT)]
    return [legacy_row(row, page.kind) for row in rows]


def _more(env_id: str, offset: int, count: int) -> list[LeaderboardRow]:
    """Rows after ``offset``, page by page."""
    rows: list[LeaderboardRow] = []
    while count > 0:
        page = leaderboard_page(env_id, offset=offset, limit=min(count, MAX_LIMIT))
        rows += page.rows
        if len(page.rows) < page.limit:
            break
        offset, count = offset + len(page.rows), count - len(page.rows)
    return rows


def legacy_row(row: LeaderboardRow, kind: str) -> dict[str, Any]:
    """A row with the keys scripts read from `rl-arena leaderboard --json` (and some more)."""
    legacy = {"rank": row.rank, "name": row.name, "owner": row.owner_email,
              "agent": row.agent_id, "submission": row.submission_id, "version": row.version,
              "score": row.score, "rating": row.elo, "games": row.games,
              "bt_rating": row.bt_rating, "bt_low": row.bt_low, "bt_high": row.bt_high,
              "rank_ub": row.rank_ub, "provisional": row.provisional, "wins": row.wins,
              "draws": row.draws, "losses": row.losses, "owner_name": row.owner_name}
    if kind == "solo":
        legacy |= {"score_mean": row.score_mean, "score_std": row.score_std,
                   "score_low": row.score_low, "score_high": row.score_high,
                   "episodes": row.episodes}
    return legacy
