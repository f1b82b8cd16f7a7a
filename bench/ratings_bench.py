"""Ratings benchmark: Elo replay and Bradley-Terry fits (Laplace and bootstrap intervals).

Prints one JSON object. Usage: .venv/bin/python bench/ratings_bench.py
[--games 1000000] [--players 1000] [--bootstrap 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from rl_arena_app.core.ratings import fit_bradley_terry, replay_elo, replay_elo_arrays

ELO_TARGET_S = 1.0
BT_TARGET_S = 30.0


def baseline_s() -> float:
    """Machine speed: a plain Python loop of 1e6 additions (median of 3)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for k in range(1_000_000):
            total += k
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def random_games(
    rng: np.random.Generator, games: int, players: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random pairings; outcomes drawn from hidden Elo ratings, with 10% draws."""
    true = rng.normal(1500.0, 200.0, players)
    a = rng.integers(0, players, games)
    b = (a + rng.integers(1, players, games)) % players
    p = 1.0 / (1.0 + 10.0 ** ((true[b] - true[a]) / 400.0))
    score = (rng.random(games) < p).astype(np.float64)
    score[rng.random(games) < 0.1] = 0.5
    return a, b, score, true


def bt_measure(a: np.ndarray, b: np.ndarray, score: np.ndarray, players: int,
               truth: np.ndarray, bootstrap: int) -> dict[str, float | bool]:
    """Time one Bradley-Terry fit; report its accuracy and interval width."""
    started = time.perf_counter()
    fit = fit_bradley_terry(a, b, score, players, bootstrap=bootstrap, seed=0)
    elapsed = time.perf_counter() - started
    return {
        "fit_s": round(elapsed, 3),
        "converged": fit.converged,
        "corr_with_truth": round(float(np.corrcoef(fit.rating, truth)[0, 1]), 4),
        "mean_ci_width": round(float(np.mean(fit.ci_high - fit.ci_low)), 2),
    }


def main() -> None:
    """Run the benchmarks and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--games", type=int, default=1_000_000)
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--bootstrap", type=int, default=100,
                        help="rounds of the parametric-bootstrap fit (the other uses Laplace)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    base = baseline_s()
    rng = np.random.default_rng(0)
    a, b, score, true = random_games(rng, args.games, args.players)

    elo_times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        replay_elo_arrays(a, b, score, args.players)
        elo_times.append(time.perf_counter() - started)
    elo_s = statistics.median(elo_times)

    games = list(zip(a.tolist(), b.tolist(), score.tolist(), strict=True))
    started = time.perf_counter()
    replay_elo(games)
    elo_dict_s = time.perf_counter() - started

    # No coverage here: 10% draws regardless of strength compress the scores, so the hidden
    # ratings are not the Bradley-Terry model's (tests/unit/test_ratings.py checks coverage).
    laplace = bt_measure(a, b, score, args.players, true, 0)
    boot = bt_measure(a, b, score, args.players, true, args.bootstrap)

    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "games": args.games,
        "players": args.players,
        "baseline_loop_1e6_additions_s": round(base, 4),
        "elo_replay_arrays_s_median": round(elo_s, 4),
        "elo_replay_arrays_runs_s": [round(t, 4) for t in elo_times],
        "elo_replay_dict_api_s": round(elo_dict_s, 4),
        "elo_target_s": ELO_TARGET_S,
        "elo_within_target": elo_s <= ELO_TARGET_S,
        "elo_over_baseline": round(elo_s / base, 2),
        "bt_target_s": BT_TARGET_S,
        "bt_laplace": {**laplace, "over_baseline": round(laplace["fit_s"] / base, 1)},
        "bt_bootstrap": {**boot, "rounds": args.bootstrap,
                         "over_baseline": round(boot["fit_s"] / base, 1)},
        "bt_within_target": max(laplace["fit_s"], boot["fit_s"]) <= BT_TARGET_S,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
