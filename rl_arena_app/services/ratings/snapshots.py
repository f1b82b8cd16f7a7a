"""Leaderboard snapshots: every shown row of an env, read once and shared until the env changes.

A snapshot is read from the database (the truth) ranked by score (Elo for duels, mean return for
solo tasks; the later submission first on ties) in the query itself; sorts and searches are cut
from it in memory. Snapshots are cached per process under the env's data version
(services.events), so the many readers of a busy board share one query until the next event of
its env moves the version, and readers that miss at the same moment wait for one read rather
than each making their own.
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections import OrderedDict, namedtuple
from collections.abc import Iterable, Sequence
from concurrent.futures import Future

from sqlalchemy import Select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased
from sqlmodel import select

from rl_arena_app.arena import envs
from rl_arena_app.db.models import Agent, Submission, SubmissionStatus, User
from rl_arena_app.db.session import get_engine
from rl_arena_app.services.events import data_version, is_older

CACHED_SNAPSHOTS = 16

log = logging.getLogger(__name__)


def current_versions(env_id: str):
    """WHERE clauses: ready submissions of the env that are their agent's latest ready one."""
    later = aliased(Submission)
    newer = (select(later.id).where(later.agent_id == Submission.agent_id,
                                     later.status == SubmissionStatus.READY,
                                     later.version > Submission.version).exists())
    return (Submission.env_id == env_id, Submission.status == SubmissionStatus.READY, ~newer)


# The fields of a snapshot row and the columns they are read from, in order. The snapshot keeps
# plain tuples (the garbage collector stops tracking those, and 10,000 are cheap); an Entry
# names the fields of one.
_FIELDS = {
    "submission_id": Submission.id, "agent_id": Submission.agent_id,
    "version": Submission.version, "rating": Submission.rating, "games": Submission.games,
    "wins": Submission.wins, "draws": Submission.draws, "losses": Submission.losses,
    "bt_rating": Submission.bt_rating, "bt_low": Submission.bt_low,
    "bt_high": Submission.bt_high, "rank_ub": Submission.bt_rank_ub,
    "score_mean": Submission.score_mean, "score_std": Submission.score_std, "name": Agent.name,
    "owner_name": User.name, "owner_email": User.email, "house": User.is_house,
    "retired": Agent.retired_at.is_not(None), "algorithm": Submission.algorithm,
}
Entry = namedtuple("Entry", _FIELDS)
_SEARCHED = tuple(Entry._fields.index(f) for f in ("name", "owner_name", "algorithm"))
SORT_FIELDS = {"elo": "rating", "bt": "bt_rating", "rank_ub": "rank_ub", "games": "games",
               "wins": "wins", "losses": "losses", "name": "name", "owner": "owner_name",
               "version": "version"}
_FOLDED = ("name", "owner")  # sorted without regard to case


class Snapshot:
    """Every shown row of an env, best first (position = rank - 1), with the orders of the
    other sorts and the search texts cut from it once, when first asked for."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows
        self._orders: dict[tuple[str, bool], array[int]] = {}
        self._texts: list[str] | None = None

    def entry(self, position: int) -> Entry:
        """The row at ``position`` with its fields named."""
        return Entry._make(self.rows[position])

    def positions(self, sort: str, descending: bool, needle: str) -> Sequence[int]:
        """Positions in display order: sorted, ties and missing values in rank order, and only
        those whose name, owner or algorithm contains ``needle`` (lower case), if one is given."""
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
        at = Entry._fields.index(SORT_FIELDS[sort])
        values = [row[at] for row in self.rows]
        if sort in _FOLDED:
            values = [value.lower() for value in values]
        present = [k for k, value in enumerate(values) if value is not None]
        present.sort(key=values.__getitem__, reverse=descending)
        return array("i", present + [k for k, value in enumerate(values) if value is None])

    def _matching(self, needle: str) -> list[int]:
        if self._texts is None:  # NUL-joined: a search holds no NUL, so no hit spans both
            self._texts = ["\0".join((row[k] or "").lower() for k in _SEARCHED)
                           for row in self.rows]
        return [k for k, text in enumerate(self._texts) if needle in text]


def _snapshot_query(env_id: str, kind: str) -> Select:
    """Every agent's latest ready version in the env that has a score, best first (the later
    submission first on ties)."""
    score = Submission.rating if kind == "duel" else Submission.score_mean
    return (select(*_FIELDS.values()).join(Agent, Agent.id == Submission.agent_id)
            .join(User, User.id == Agent.owner_id)
            .where(*current_versions(env_id), score.is_not(None))
            .order_by(score.desc(), Submission.id.desc()))


def _read_snapshot(env_id: str, kind: str) -> Snapshot:
    """The env's shown rows as the database holds them now."""
    with get_engine().connect() as connection:  # Core rows: no ORM bookkeeping for 10,000
        rows = connection.execute(_snapshot_query(env_id, kind))
        return Snapshot(list(map(tuple, rows)))


class _SnapshotCache:
    """The newest snapshot of each env, by (env, kind, data version); thread-safe, the least
    recently used out beyond ``size``.

    A single flight: callers that miss the same key while it is being read wait for that one
    read (and share its failure) instead of reading it again beside it.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str, str], Snapshot] = OrderedDict()
        self.reading: dict[tuple[str, str, str], Future[Snapshot]] = {}
        self.lock = threading.Lock()

    def get(self, env_id: str, kind: str) -> Snapshot:
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

    def _read(self, key: tuple[str, str, str], flight: Future[Snapshot]) -> Snapshot:
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


def snapshot(env_id: str, kind: str) -> Snapshot:
    """The env's snapshot at its current data version (cached, or read once for all callers)."""
    return _CACHE.get(env_id, kind)


def warm(env_ids: Iterable[str]) -> None:
    """Read the snapshots of ``env_ids`` at their current data version, unless cached, so that
    the pages asked for next do not pay for the read (unknown ids are skipped)."""
    known = {spec.id: spec.kind for spec in envs.list_envs()}
    for env_id in (e for e in env_ids if e in known):
        try:
            _CACHE.get(env_id, known[env_id])
        except OperationalError as exc:  # the pages that need it will read it, and say so
            log.warning("leaderboard of %s not warmed: %s", env_id, exc.orig)
