"""Leaderboards: one row per agent (its latest ready version), sorted, searched and paged.

A leaderboard is read from the database (the truth) as one snapshot of every shown row, ranked
by score (Elo for duels, mean return for solo tasks; the later submission first on ties) in the
query itself; sorts, searches and pages are then cut from the snapshot in memory. Snapshots are
cached per process under the env's data version (services.events), so the many readers of a busy
board share one query until the next event of its env moves the version, and readers that miss
at the same moment wait for one read rather than each making their own.
"""

from __future__ import annotations

import logging
import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Any, NamedTuple

from scipy import stats
from sqlalchemy import Select, func
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased
from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.db.models import Agent, Game, Submission, SubmissionStatus, User
from rl_arena_app.db.session import get_engine, session_scope
from rl_arena_app.errors import BadInput
from rl_arena_app.services.events import data_version, is_older
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

log = logging.getLogger(__name__)


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
    """The fields of a snapshot row, in column order (the snapshot itself keeps plain tuples:
    the garbage collector stops tracking those, and 10,000 are cheap)."""

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
_NAME, _OWNER_NAME = _Entry._fields.index("name"), _Entry._fields.index("owner_name")
_SORT_COLUMNS = {"elo": "rating", "bt": "bt_rating", "rank_ub": "rank_ub", "games": "games",
                 "wins": "wins", "losses": "losses", "name": "name", "owner": "owner_name",
                 "version": "version"}
_FOLDED = ("name", "owner")  # sorted without regard to case


class _Snapshot:
    """Every shown row of an env, best first (position = rank - 1), with the orders of the
    other sorts and the search texts cut from it once, when first asked for."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows
        self._orders: dict[tuple[str, bool], array[int]] = {}
        self._texts: list[str] | None = None

    def positions(self, sort: str, descending: bool, needle: str) -> Sequence[int]:
        """Positions in display order: sorted, ties and missing values in rank order, and only
        those whose name or owner contains ``needle`` (lower case) when it is not empty."""
        order = self._order(sort, descending)
        if not needle:
            return order
        hits = set(self._matching(needle))
        return [position for position in order if position in hits]

    def _order(self, sort: str, descending: bool) -> Sequence[int]:
        if sort == "rank":
            count = len(self.rows)
            return range(count - 1, -1, -1) if descending else range(count)
        if (order := self._orders.get((sort, descending))) is None:
            order = self._orders[sort, descending] = self._sorted(sort, descending)
        return order

    def _sorted(self, sort: str, descending: bool) -> array[int]:
        """Rows with the value by it (stable: ties stay in rank order), then those without."""
        at = _Entry._fields.index(_SORT_COLUMNS[sort])
        values = [row[at] for row in self.rows]
        if sort in _FOLDED:
            values = [value.lower() for value in values]
        present = [k for k, value in enumerate(values) if value is not None]
        present.sort(key=values.__getitem__, reverse=descending)
        return array("i", present + [k for k, value in enumerate(values) if value is None])

    def _matching(self, needle: str) -> list[int]:
        if self._texts is None:  # NUL-joined: a search holds no NUL, so no hit spans both
            self._texts = [f"{row[_NAME].lower()}\0{row[_OWNER_NAME].lower()}"
                           for row in self.rows]
        return [k for k, text in enumerate(self._texts) if needle in text]


def _snapshot_query(env_id: str, kind: str) -> Select:
    """Every agent's latest ready version in the env that has a score, best first (the later
    submission first on ties)."""
    score = Submission.rating if kind == "duel" else Submission.score_mean
    return (select(*_COLUMNS).join(Agent, Agent.id == Submission.agent_id)
            .join(User, User.id == Agent.owner_id)
            .where(*current_versions(env_id), score.is_not(None))
            .order_by(score.desc(), Submission.id.desc()))


def _read_snapshot(env_id: str, kind: str) -> _Snapshot:
    """The env's shown rows as the database holds them now."""
    with get_engine().connect() as connection:  # Core rows: no ORM bookkeeping for 10,000
        rows = connection.execute(_snapshot_query(env_id, kind))
        return _Snapshot(list(map(tuple, rows)))


class _SnapshotCache:
    """The newest snapshot of each env, by (env, kind, data version); thread-safe, the least
    recently used out beyond ``size``.

    A single flight: callers that miss the same key while it is being read wait for that one
    read (and share its failure) instead of reading it again beside it.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str, str], _Snapshot] = OrderedDict()
        self.reading: dict[tuple[str, str, str], Future[_Snapshot]] = {}
        self.lock = threading.Lock()

    def get(self, env_id: str, kind: str) -> _Snapshot:
        version = data_version(env_id)
        if version is None:  # Redis cannot say what changed: read the truth
            return _read_snapshot(env_id, kind)
        key = (env_id, kind, version)
        with self.lock:
            if (snapshot := self.entries.get(key)) is not None:
                self.entries.move_to_end(key)
                return snapshot
            flight = self.reading.get(key)
            if leader := flight is None:
                flight = self.reading[key] = Future()
        return self._read(key, flight) if leader else flight.result()

    def _read(self, key: tuple[str, str, str], flight: Future[_Snapshot]) -> _Snapshot:
        """Read the snapshot of ``key`` for every caller waiting on ``flight``."""
        env_id, kind, _ = key
        try:
            snapshot = _read_snapshot(env_id, kind)
        except BaseException as exc:
            with self.lock:
                del self.reading[key]
            flight.set_exception(exc)
            raise
        with self.lock:
            del self.reading[key]
            others = [k for k in self.entries if k[:2] == key[:2]]
            if not any(is_older(key[2], k[2]) for k in others):  # a late read of an older version
                for other in others:  # versions only move on: a superseded one is never asked for
                    del self.entries[other]
                self.entries[key] = snapshot
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        flight.set_result(snapshot)
        return snapshot

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_CACHE = _SnapshotCache(CACHED_SNAPSHOTS)


def warm(env_ids: Iterable[str]) -> None:
    """Read the snapshots of ``env_ids`` at their current data version, unless cached, so that
    the pages asked for next do not pay for the read (unknown ids are skipped)."""
    known = {spec.id: spec.kind for spec in envs.list_envs()}
    for env_id in (e for e in env_ids if e in known):
        try:
            _CACHE.get(env_id, known[env_id])
        except OperationalError as exc:  # the pages that need it will read it, and say so
            log.warning("leaderboard of %s not warmed: %s", env_id, exc.orig)


# -------------------------------------------------------------------------------- the page


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
    snapshot = _CACHE.get(env_id, kind)
    shown = snapshot.positions(sort, descending, search.lower())
    episodes = envs.spec(env_id).episodes if kind == "solo" else None
    rows = [_row(k + 1, _Entry._make(snapshot.rows[k]), kind, episodes)
            for k in shown[offset:offset + limit]]
    return LeaderboardPage(env_id=env_id, kind=kind, rows=rows, total=len(shown),
                           offset=offset, limit=limit, sort=sort, descending=descending,
                           search=search, provisional_games=get_settings().provisional_games)


def _row(rank: int, entry: _Entry, kind: str, episodes: int | None) -> LeaderboardRow:
    """One leaderboard row."""
    low, high = _mean_interval(entry.score_mean, entry.score_std, episodes)
    return LeaderboardRow(
        rank=rank, agent_id=entry.agent_id, name=entry.name, owner_name=entry.owner_name,
        owner_email=entry.owner_email, house=entry.house, submission_id=entry.submission_id,
        version=entry.version, score=entry.rating if kind == "duel" else entry.score_mean,
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
