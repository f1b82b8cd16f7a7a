"""Arena engine benchmark: per-move round trip per sandbox, warm and cold duels, raw PettingZoo.

Prints one JSON object. Usage: python bench/arena_bench.py [--games 200] [--moves 2000] [--cold 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from jobs.sandbox.factory import sandbox_factories
from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle, load_bundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import play

FIRST_LEGAL = "def act(observation, info):\n    return int(info['action_mask'].argmax())\n"


def raw_pettingzoo_games_per_s(games: int) -> float:
    """The physical limit: PettingZoo's own loop, random vs random, no referee, no sandbox."""
    from pettingzoo.classic import connect_four_v3

    env = connect_four_v3.env()
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for game in range(games):
        env.reset(seed=game)
        for _agent in env.agent_iter():
            observation, _, terminated, truncated, _ = env.last()
            action = None
            if not (terminated or truncated):
                action = int(rng.choice(np.flatnonzero(observation["action_mask"])))
            env.step(action)
    return games / (time.perf_counter() - started)


def round_trip_us(kind: str, moves: int) -> dict[str, float]:
    """Median and p99 of one act() round trip with a connect_four observation."""
    bundle = (load_bundle("builtin:random", env_id="connect_four") if kind == "inprocess"
              else AgentBundle(ref="first-legal", files={"agent.py": FIRST_LEGAL.encode()}))
    [factory], _ = sandbox_factories(kind, [bundle])  # type: ignore[arg-type]
    sandbox = factory()
    sandbox.launch()
    sandbox.wait_ready(30)
    observation = np.zeros((6, 7, 2), np.int8)
    info = {"action_mask": np.ones(7, np.int8), "player": 0, "step": 0, "time_left_s": 1.0}
    times = []
    try:
        for i in range(moves):
            reset = {"seed": 1, "player": 0} if i == 0 else None
            times.append(sandbox.act(observation, info, reset, 5.0)[1])
    finally:
        sandbox.close()
    times.sort()
    return {"median_us": round(statistics.median(times) * 1e6, 1),
            "p99_us": round(times[int(len(times) * 0.99)] * 1e6, 1)}


def duel(kind: str, games: int, seed: int = 0):
    """A connect_four duel of built-in random agents."""
    env = envs.spec("connect_four")
    bundle = load_bundle("builtin:random", env_id=env.id)
    factories, _ = sandbox_factories(kind, [bundle, bundle])  # type: ignore[arg-type]
    return play(env, factories, ["random", "random"], sandbox=kind, seed=seed,
                limits=Limits.for_env(env), games=games)


def series(kind: str, games: int) -> dict[str, float]:
    """Games per second over a series played by two warm sandboxes."""
    result = duel(kind, games)
    playing = sum(g.duration_s for g in result.games)
    return {"games": games, "games_per_s_total": round(games / result.duration_s, 1),
            "games_per_s_warm": round(games / playing, 1),
            "moves": sum(len(g.steps) for g in result.games)}


def cold_overhead_s(kind: str, runs: int) -> dict[str, float]:
    """Wall time of a 2-game duel minus the time spent in the games: start-up and tear-down."""
    overheads = []
    for i in range(runs):
        result = duel(kind, 2, seed=i)
        overheads.append(result.duration_s - sum(g.duration_s for g in result.games))
        if kind == "docker":  # let the background removal finish before the next cold start
            from jobs.sandbox.docker import DockerEngine

            DockerEngine.drain()
    return {"median_s": round(statistics.median(overheads), 3),
            "min_s": round(min(overheads), 3), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--moves", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    duel("docker", 1)  # build the images once, outside every measurement
    raw = raw_pettingzoo_games_per_s(args.games)
    report = {
        "raw_pettingzoo_games_per_s": round(raw, 1),
        "round_trip": {k: round_trip_us(k, args.moves) for k in ("docker", "process",
                                                                   "inprocess")},
        "connect_four_series": {k: series(k, args.games) for k in ("docker", "process",
                                                                    "inprocess")},
        "cold_duel_overhead": {k: cold_overhead_s(k, args.cold) for k in ("docker", "process")},
    }
    docker_series = report["connect_four_series"]["docker"]
    report["docker_warm_vs_raw"] = round(docker_series["games_per_s_warm"] / raw, 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
