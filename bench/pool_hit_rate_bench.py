"""Warm pool hit rate in a big arena: a simulation with the platform's own matchmaking, pools and
routing, for 10, 100 and 1,000 active versions.

Every tick the real matchmaker (`core.matchmaking.pair`) pairs all versions (ratings spread like a
settled leaderboard), the matches are queued, and ``--workers`` simulated workers take them: each
has a real `SandboxPool` of ``--capacity`` (stand-in hosts) and picks its next match either in
queue order (FIFO) or with `jobs.routing.choose` (a warm match near the head, unless it was
queued well after the head). A match costs a worker ``--warm-ms`` per warm side and
``--cold-ms`` per side it had to start. Prints one JSON object. Usage:
python bench/pool_hit_rate_bench.py [--workers 2] [--capacity 16] [--ticks 30]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import time
from dataclasses import dataclass

from jobs.routing import MAX_LEAD_S, WINDOW, Waiting, choose
from jobs.sandbox.pool import SandboxPool
from rl_arena_app.core.matchmaking import Candidate, MatchmakingConfig, pair


@dataclass
class StandIn:
    """A warm host that costs nothing to start or close."""

    key: str
    broken: bool = False
    last_used: float = 0.0

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to close."""


@dataclass
class Queued:
    """A match waiting in the simulated queue."""

    a: str
    b: str
    enqueued: float


def simulate(versions: int, workers: int, capacity: int, ticks: int, routed: bool,
             tick_s: float, warm_s: float, cold_s: float, max_lead_s: float, window: int) -> dict:
    """Play ``ticks`` matchmaking ticks; the hit rate and how long matches waited."""
    rng = random.Random(1)
    ratings = {i: rng.gauss(1500, 200) for i in range(versions)}
    recent: dict[int, list[int]] = {i: [] for i in range(versions)}
    pools = [SandboxPool(capacity) for _ in range(workers)]
    free_at = [(0.0, w) for w in range(workers)]  # (time the worker is next free, worker)
    queue: list[Queued] = []
    waits: list[float] = []
    busy_s = 0.0
    for tick in range(ticks):
        now = tick * tick_s
        candidates = [Candidate(id=i, owner=str(i), rating=ratings[i], games=100,
                                waited_ticks=0, recent_opponents=tuple(recent[i][:3]))
                      for i in range(versions)]
        for a, b in pair(candidates, MatchmakingConfig(), tick=tick, seed=tick):
            recent[a].insert(0, b)
            recent[b].insert(0, a)
            queue.append(Queued(f"v{a}", f"v{b}", now))
        end = now + tick_s
        while queue and free_at[0][0] < end:
            at, worker = heapq.heappop(free_at)
            at = max(at, queue[0].enqueued)
            pool = pools[worker]
            index = 0
            if routed:
                nearby = [Waiting(str(i), (q.a, q.b), q.enqueued)
                          for i, q in enumerate(queue[:window])]
                chosen = choose(nearby, pool.keys(), max_lead_s)
                index = 0 if chosen is None else int(chosen)
            match = queue.pop(index)
            waits.append(at - match.enqueued)
            cost = 0.0
            hosts = []
            for key in (match.a, match.b):
                before = pool.stats().hits
                hosts.append(pool.lease(key, lambda key=key: StandIn(key)))  # type: ignore[arg-type]
                cost += warm_s if pool.stats().hits > before else cold_s
            for host in hosts:
                host.last_used = time.monotonic()  # the pool's idle limit runs on real time
                pool.give_back(host)  # type: ignore[arg-type]
            busy_s += cost
            heapq.heappush(free_at, (at + cost, worker))
    hits = sum(p.stats().hits for p in pools)
    leases = hits + sum(p.stats().misses for p in pools)
    waits.sort()
    return {"hit_rate": round(hits / leases, 3), "matches": len(waits),
            "wait_median_s": round(waits[len(waits) // 2], 2),
            "wait_p90_s": round(waits[int(len(waits) * 0.9)], 2),
            "worker_s_per_match": round(busy_s / len(waits), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=16)
    parser.add_argument("--ticks", type=int, default=30)
    parser.add_argument("--tick-s", type=float, default=10.0)
    parser.add_argument("--warm-ms", type=float, default=15.0)
    parser.add_argument("--cold-ms", type=float, default=330.0)
    parser.add_argument("--max-lead-s", type=float, default=MAX_LEAD_S)
    parser.add_argument("--window", type=int, default=WINDOW)
    args = parser.parse_args()
    report: dict = {"workers": args.workers, "capacity": args.capacity, "ticks": args.ticks,
                    "tick_s": args.tick_s, "max_lead_s": args.max_lead_s, "window": args.window,
                    "versions": {}}
    for versions in (10, 100, 1000):
        report["versions"][versions] = {
            mode: simulate(versions, args.workers, args.capacity, args.ticks, mode == "routed",
                           args.tick_s, args.warm_ms / 1000, args.cold_ms / 1000, args.max_lead_s,
                           args.window)
            for mode in ("fifo", "routed")}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
