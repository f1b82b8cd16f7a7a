"""Matchmaking: pair waiting submissions of similar rating, one scheduler tick at a time.

Pure and deterministic given ``seed`` (and independent of the order of ``candidates``); standard
library only.

Rules applied by ``pair``:

* Eligible: ``open_matches < max_open_per_submission``, not cooling down (``tick >=
  cooldown_until_tick``) and, with a ``daily_cap``, ``games_today + open_matches < daily_cap``
  (queued/running matches count towards today's cap). Ineligible candidates are skipped.
* Window: a candidate accepts opponents within ``±min(base + widen * waited_ticks, max)`` Elo,
  bounds included. A pair needs each side inside the other's window.
* Starving (``waited_ticks >= starvation_ticks``): the candidate takes the nearest available
  opponent at any distance, and the window rule is waived for any pair that includes it.
* Unrated (no rated games yet): its rating is only the starting prior, so windows are waived
  for it as for a starving candidate: a new submission gets its first match at once.
* Owners: never two agents of the same owner, unless either side is a house agent.
* Recent opponents: a candidate avoids opponents where either side is among the other's last
  ``avoid_recent`` opponents while another allowed opponent is available (inside its window, or
  at any distance when starving); only when none is does it take the nearest recent one.
* Priority: starving first, then provisional (``games < provisional_games``), then longest
  waiting, then a seeded random order. Each candidate in turn takes the nearest-rated allowed
  opponent still available (equal distances broken by the same seeded random keys).
* Each candidate is in at most one pair per tick; stop after ``max_new_matches`` pairs.

A pair is ``(chooser_id, opponent_id)``: the higher-priority side first, pairs in the order made.

Speed: candidates are sorted by rating once; each search walks outward from the candidate's
slot over a doubly linked list of free slots (taken ones are unlinked in O(1)) and stops at
its window edge or just past the nearest allowed opponent, so a tick is O(n log n) in practice.
Only pathological inputs (e.g. thousands of starving agents of one owner) scan further.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

__all__ = ["Candidate", "MatchmakingConfig", "eligible", "is_starving", "pair",
           "takes_any_distance", "window"]

_INF = math.inf


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ready submission waiting for a match."""

    id: int
    owner: str
    rating: float
    games: int
    waited_ticks: int
    recent_opponents: tuple[int, ...] = ()  # most recent first
    open_matches: int = 0
    house: bool = False
    cooldown_until_tick: int | None = None
    games_today: int = 0


@dataclass(frozen=True, slots=True)
class MatchmakingConfig:
    """Matchmaking parameters; see the module docstring for how each rule applies."""

    base_window: float = 100.0
    widen_per_tick: float = 50.0
    max_window: float = 500.0
    starvation_ticks: int = 10
    avoid_recent: int = 3
    max_open_per_submission: int = 1
    daily_cap: int | None = None
    provisional_games: int = 10
    max_new_matches: int | None = None

    def __post_init__(self) -> None:
        """Reject negative windows, counts and caps."""
        values = (self.base_window, self.widen_per_tick, self.max_window, self.starvation_ticks,
                  self.avoid_recent, self.max_open_per_submission, self.provisional_games)
        caps = (self.daily_cap, self.max_new_matches)
        if any(not v >= 0 for v in values) or any(c is not None and c < 0 for c in caps):
            raise ValueError("matchmaking windows, counts and caps must be non-negative")


def window(candidate: Candidate, config: MatchmakingConfig) -> float:
    """Half-width in Elo of the candidate's acceptance window."""
    widened = config.base_window + config.widen_per_tick * candidate.waited_ticks
    return min(widened, config.max_window)


def is_starving(candidate: Candidate, config: MatchmakingConfig) -> bool:
    """Whether the candidate has waited long enough to take any opponent at any distance."""
    return candidate.waited_ticks >= config.starvation_ticks


def takes_any_distance(candidate: Candidate, config: MatchmakingConfig) -> bool:
    """Whether windows are waived for the candidate: it is starving, or not rated yet."""
    return is_starving(candidate, config) or candidate.games == 0


def eligible(
    candidates: Sequence[Candidate], config: MatchmakingConfig, tick: int
) -> list[Candidate]:
    """Candidates that may get a new match this tick (open-match cap, cooldown, daily cap)."""
    cap, max_open = config.daily_cap, config.max_open_per_submission
    return [c for c in candidates
            if c.open_matches < max_open
            and (c.cooldown_until_tick is None or tick >= c.cooldown_until_tick)
            and (cap is None or c.games_today + c.open_matches < cap)]


def pair(
    candidates: Sequence[Candidate], config: MatchmakingConfig, *, tick: int, seed: int
) -> list[tuple[int, int]]:
    """This tick's new matches as ``(chooser_id, opponent_id)`` pairs, in the order made."""
    if len({c.id for c in candidates}) != len(candidates):
        raise ValueError("candidate ids must be unique")
    if not all(math.isfinite(c.rating) for c in candidates):
        raise ValueError("candidate ratings must be finite")
    max_new = config.max_new_matches
    if max_new == 0:
        return []
    pool = sorted(eligible(candidates, config, tick), key=attrgetter("id"))
    rng = random.Random(seed)
    slots = _Slots(pool, [rng.getrandbits(64) for _ in pool], config)
    pairs: list[tuple[int, int]] = []
    taken, cands = slots.taken, slots.cands
    for p in slots.priority(config):
        if taken[p]:
            continue
        q = slots.nearest(p)
        if q < 0:
            continue
        slots.take(p)
        slots.take(q)
        pairs.append((cands[p].id, cands[q].id))
        if len(pairs) == max_new:
            break
    return pairs


class _Slots:
    """Eligible candidates in rating order between two sentinel slots, with a free list.

    Slots 0 and n + 1 are sentinels rated -inf and +inf. Free slots form a doubly linked list
    (``prev``/``next``), so a search walks outward over free slots only. A taken slot keeps the
    links it had when taken: following them leads to the nearest free slot on that side.
    ``skip`` remembers, per side, where a run of free slots of one owner ends, so agents of a
    big owner do not rescan their siblings.
    """

    def __init__(self, pool: list[Candidate], keys: list[int], config: MatchmakingConfig):
        """Sort by rating, equal ratings in seeded random order; ``keys`` belong to ``pool``."""
        n = len(pool)
        self.by_key = sorted(range(n), key=keys.__getitem__)
        order = sorted(self.by_key, key=[c.rating for c in pool].__getitem__)
        self.config = config
        self.cands = [_LOW, *(pool[i] for i in order), _HIGH]
        self.keys = [0, *(keys[i] for i in order), 0]
        self.slot_of = [0] * n
        for slot, i in enumerate(order, start=1):
            self.slot_of[i] = slot
        self.prev = [0, *range(n + 1)]
        self.next = [*range(1, n + 2), n + 1]
        self.skip = ([-1] * (n + 2), [-1] * (n + 2))
        self.taken = bytearray(n + 2)
        self.free = n
        self.free_by_owner = Counter([c.owner for c in pool if not c.house])

    def priority(self, config: MatchmakingConfig) -> list[int]:
        """Slots by priority: starving, provisional, longest waiting, then seeded key."""
        cands = self.cands
        waits = [c.waited_ticks for c in cands]
        top = max(waits)
        span = top - min(waits) + 1
        starve, provisional = config.starvation_ticks, config.provisional_games
        # One integer per slot, ordered like (not starving, not provisional, -waited_ticks).
        ranks = [((w < starve) * 2 + (c.games >= provisional)) * span + top - w
                 for c, w in zip(cands, waits, strict=True)]
        slot_of = self.slot_of
        order = [slot_of[i] for i in self.by_key]
        order.sort(key=ranks.__getitem__)
        return order

    def take(self, p: int) -> None:
        """Unlink free slot ``p`` from the free list."""
        before, after = self.prev[p], self.next[p]
        self.next[before], self.prev[after] = after, before
        self.taken[p] = 1
        self.free -= 1
        c = self.cands[p]
        if not c.house:
            self.free_by_owner[c.owner] -= 1

    def nearest(self, p: int) -> int:
        """Free slot of the nearest-rated allowed opponent for free slot ``p``, or -1.

        Free slots are visited in order of rating distance; at equal distance on both sides the
        side is chosen by a bit of ``p``'s seeded key, and equal ratings sit in seeded order.
        """
        cp, cfg = self.cands[p], self.config
        owner = None if cp.house else cp.owner
        if self.free - (1 if owner is None else self.free_by_owner[owner]) <= 0:
            return -1  # no free opponent of another owner
        cands, prev, nxt = self.cands, self.prev, self.next
        base, widen, n_recent = cfg.base_window, cfg.widen_per_tick, cfg.avoid_recent
        starve = cfg.starvation_ticks
        starving = cp.waited_ticks >= starve or cp.games == 0  # windows waived
        limit = _INF if starving else min(base + widen * cp.waited_ticks, cfg.max_window)
        r0, me, mine = cp.rating, cp.id, cp.recent_opponents[:n_recent]
        low_first = self.keys[p] & 1
        lo, hi = prev[p], nxt[p]
        fallback = -1  # nearest allowed recent opponent, taken only when no other is found
        while True:
            d_lo, d_hi = r0 - cands[lo].rating, cands[hi].rating - r0
            if d_lo < d_hi or (d_lo == d_hi and low_first):
                q, d, lo = lo, d_lo, prev[lo]
            else:
                q, d, hi = hi, d_hi, nxt[hi]
            if d > limit or d == _INF:
                return fallback
            cq = cands[q]
            if owner is not None and cq.owner == owner and not cq.house:
                if q > p:
                    hi = self._past_run(q, 1)
                else:
                    lo = self._past_run(q, 0)
                continue
            # d <= limit <= max_window here, so only the opponent's widened window can fail.
            if (not starving and d > base + widen * cq.waited_ticks and cq.waited_ticks < starve
                    and cq.games):
                continue
            if cq.id in mine or me in cq.recent_opponents[:n_recent]:
                if fallback < 0:
                    fallback = q
                continue
            return q

    def _past_run(self, q: int, side: int) -> int:
        """First free slot past the run of free slots owned like ``q``'s (side 0: down, 1: up)."""
        link = self.next if side else self.prev
        skip, cands = self.skip[side], self.cands
        owner, run, j = cands[q].owner, [], q
        while cands[j].owner == owner and not cands[j].house:  # sentinels are house agents
            run.append(j)
            j = self._free_from(link[j] if skip[j] < 0 else skip[j], link)
        for s in run:
            skip[s] = j
        return j

    def _free_from(self, j: int, link: list[int]) -> int:
        """First free slot from ``j`` along ``link``; the taken slots passed now point to it."""
        taken, passed = self.taken, []
        while taken[j]:
            passed.append(j)
            j = link[j]
        for t in passed:
            link[t] = j
        return j

_LOW = Candidate(id=-1, owner="", rating=-_INF, games=0, waited_ticks=0, house=True)
_HIGH = Candidate(id=-1, owner="", rating=_INF, games=0, waited_ticks=0, house=True)
