"""Matchmaking benchmark: one scheduler tick over many waiting submissions, with a baseline.

Prints one JSON object. The baseline (sorting 10,000 random floats 100 times, measured in the
same run) lets ratios be compared across noisy machines. Usage:
.venv/bin/python bench/matchmaking_bench.py [--submissions 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time

from rl_arena_app.core.matchmaking import Candidate, MatchmakingConfig, pair

TARGET_MS = 50.0


def baseline_ms() -> float:
    """Machine speed: sort 10,000 random floats 100 times (median of 3), in ms."""
    rng = random.Random(0)
    values = [rng.random() for _ in range(10_000)]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(100):
            sorted(values)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def population(n: int, seed: int, *, max_wait: int) -> list[Candidate]:
    """Random waiting submissions: ratings ~ N(1500, 300), n/3 owners, 2% house agents."""
    rng = random.Random(seed)
    owners = max(1, n // 3)
    return [
        Candidate(
            id=i,
            owner=f"user{rng.randrange(owners)}",
            rating=rng.gauss(1500.0, 300.0),
            games=rng.randrange(60),
            waited_ticks=rng.randrange(max_wait + 1),
            recent_opponents=tuple(rng.randrange(n) for _ in range(3)),
            open_matches=int(rng.random() < 0.05),
            house=rng.random() < 0.02,
            cooldown_until_tick=rng.randrange(200) if rng.random() < 0.05 else None,
            games_today=rng.randrange(30),
        )
        for i in range(n)
    ]


def time_ticks(cands: list[Candidate], config: MatchmakingConfig, runs: int) -> tuple[list, int]:
    """Per-run tick times in ms (seed = run index) and the pairs made by the first run."""
    times, made = [], 0
    for run in range(runs):
        started = time.perf_counter()
        pairs = pair(cands, config, tick=100, seed=run)
        times.append((time.perf_counter() - started) * 1000)
        made = made or len(pairs)
    return times, made


def main() -> None:
    """Run the benchmark and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    base = baseline_ms()
    config = MatchmakingConfig(daily_cap=25)
    mixed, mixed_pairs = time_ticks(population(args.submissions, 1, max_wait=15), config,
                                    args.runs)
    fresh, fresh_pairs = time_ticks(population(args.submissions, 2, max_wait=0), config,
                                    args.runs)
    starving = MatchmakingConfig(starvation_ticks=0, avoid_recent=3)
    starved, starved_pairs = time_ticks(population(args.submissions, 3, max_wait=0), starving,
                                        args.runs)
    tick_ms = statistics.median(mixed)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "submissions": args.submissions,
        "runs": args.runs,
        "baseline_sort_10k_floats_x100_ms": round(base, 2),
        "tick_ms_median": round(tick_ms, 2),
        "tick_ms_runs": [round(t, 2) for t in mixed],
        "tick_pairs": mixed_pairs,
        "tick_over_baseline": round(tick_ms / base, 3),
        "target_ms": TARGET_MS,
        "within_target": tick_ms <= TARGET_MS,
        "all_fresh_tick_ms_median": round(statistics.median(fresh), 2),
        "all_fresh_pairs": fresh_pairs,
        "all_starving_tick_ms_median": round(statistics.median(starved), 2),
        "all_starving_pairs": starved_pairs,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
