"""What an ONNX policy costs in the Docker sandbox, against the same rule as a Python agent.

Both agents play the same linear rule: CartPole's balancing policy (tests/support/onnx_models.py)
as a policy.onnx run by onnxruntime, and as ``act(observation, info)`` with numpy; optionally
connect_four's centre-first preference. Measured in the same run, for each:

- per move: one act() round trip (the referee's own clock, ``SocketSandbox.act``) on the real
  game's observations, after the first move; median and p90 over ``--moves``;
- start-up per match in warm sandboxes (the default): lease a host whose fork server is already
  running, fork the agent process, wait until it is ready (fork → ready: imports, the model's
  session) and play its first move (ready → first action: the policy's fitting on its first
  observation); the first match of each agent starts its host and is left out;
- start-up in cold sandboxes (one container per match, ``--cold`` of them): container start →
  first action.

Ratios are ONNX / Python. Prints one JSON object.
Usage: python bench/onnx_bench.py [--moves 300] [--matches 20] [--cold 3] [--connect-four]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jobs.sandbox.factory import sandbox_factories  # noqa: E402
from jobs.sandbox.pool import close_pools  # noqa: E402
from rl_arena_app.arena import envs  # noqa: E402
from rl_arena_app.arena.bundle import AgentBundle, bundle_from_bytes  # noqa: E402
from rl_arena_app.settings import get_settings  # noqa: E402
from tests.support.onnx_models import (  # noqa: E402
    CARTPOLE_GAINS,
    CENTRE_FIRST,
    cartpole_policy,
    preference_policy,
)

CARTPOLE = "CartPole-v1"
C4 = "connect_four"
MOVE_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 30.0
# The ONNX rule in numpy: push right when gains · observation > 0 (logits [0, g·x], first of equal).
PYTHON_CARTPOLE = f"""
import numpy as np

GAINS = np.array({list(CARTPOLE_GAINS)!r})


def act(observation, info):
    return int(float(GAINS @ np.asarray(observation, dtype=np.float32)) > 0)
"""
# The best legal column by the same preferences (first of equal ones), whatever the board.
PYTHON_C4 = f"""
import numpy as np

PREFERENCE = np.array({list(CENTRE_FIRST)!r})


def act(observation, info):
    return int(np.argmax(np.where(np.asarray(info["action_mask"]) > 0, PREFERENCE, -np.inf)))
"""
Sandbox = Any  # a SocketSandbox: launch, wait_ready, act, close


def agents(env_id: str) -> dict[str, AgentBundle]:
    """The ONNX policy and its Python twin for ``env_id``."""
    if env_id == CARTPOLE:
        onnx, python = cartpole_policy(), PYTHON_CARTPOLE
    else:
        onnx, python = preference_policy((6, 7, 2), CENTRE_FIRST), PYTHON_C4
    return {"onnx": bundle_from_bytes(onnx, ref="policy.onnx"),
            "python": AgentBundle(ref=f"python-{env_id}", files={"agent.py": python.encode()})}


class Moves:
    """The real game's observations and infos, as the referee sends them, game after game."""

    def __init__(self, env_id: str) -> None:
        self.env_id = env_id
        self.game = envs.make(env_id)
        self.seed = 0
        self.step = 0
        self.game.reset(self.seed)

    def next(self) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        """An observation, its info and the reset info of the game it belongs to."""
        if self.game.to_move() is None:
            self.seed += 1
            self.step = 0
            self.game.reset(self.seed)
        observation, extra = self.game.observe()
        info = {**extra, "player": self.game.to_move(), "step": self.step,
                "time_left_s": MOVE_TIMEOUT_S}
        reset = {"env": self.env_id, "seed": self.seed, "player": 0,
                 "action_space": self.game.action_space_info,
                 "move_timeout_s": MOVE_TIMEOUT_S, "time_bank_s": 0.0}
        return observation, info, reset

    def play(self, action: Any) -> None:
        """Apply the agent's answer."""
        self.game.step(self.game.parse_action(action))
        self.step += 1


def first_move(sandbox: Sandbox, moves: Moves) -> None:
    """The agent's first act(), with the reset info, as a match starts."""
    observation, info, reset = moves.next()
    action, _ = sandbox.act(observation, info, reset, MOVE_TIMEOUT_S)
    moves.play(action)


def per_move_ms(factory: Callable[[], Sandbox], env_id: str, count: int) -> dict[str, float]:
    """Median and p90 of one act() round trip in one agent process, its first move left out."""
    moves = Moves(env_id)
    sandbox = factory()
    sandbox.launch()
    times = []
    try:
        sandbox.wait_ready(READY_TIMEOUT_S)
        first_move(sandbox, moves)
        for _ in range(count):
            observation, info, _reset = moves.next()
            action, elapsed = sandbox.act(observation, info, None, MOVE_TIMEOUT_S)
            moves.play(action)
            times.append(elapsed * 1000)
    finally:
        sandbox.close()
    return {"median_ms": round(statistics.median(times), 3),
            "p90_ms": round(statistics.quantiles(times, n=10)[-1], 3), "moves": count}


def start_up_ms(factory: Callable[[], Sandbox], env_id: str) -> dict[str, float]:
    """One match's start: launch → ready → first action, then the sandbox is closed."""
    moves = Moves(env_id)
    started = time.perf_counter()
    sandbox = factory()
    sandbox.launch()
    try:
        sandbox.wait_ready(READY_TIMEOUT_S)
        ready = time.perf_counter()
        first_move(sandbox, moves)
        acted = time.perf_counter()
    finally:
        sandbox.close()
    return {"to_ready_ms": (ready - started) * 1000, "ready_to_first_action_ms":
            (acted - ready) * 1000, "to_first_action_ms": (acted - started) * 1000}


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each measure over ``runs``."""
    return {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}


def warm_start_ups(factory: Callable[[], Sandbox], env_id: str, matches: int) -> dict:
    """Start-ups of ``matches`` agent processes forked in the same warm host."""
    start_up_ms(factory, env_id)  # starts the host: a cold start, not measured here
    return {**medians([start_up_ms(factory, env_id) for _ in range(matches)]),
            "matches": matches}


def cold_start_ups(bundle: AgentBundle, env_id: str, runs: int) -> dict:
    """Start-ups of ``runs`` fresh containers (no warm pool)."""
    from jobs.sandbox.docker import DockerEngine

    cold = get_settings().model_copy(update={"warm_sandboxes": 0})
    [factory], _ = sandbox_factories("docker", [bundle], cold)
    results = []
    for _ in range(runs):
        results.append(start_up_ms(factory, env_id))
        DockerEngine.drain()  # let the removal finish before the next start
    return {**medians(results), "runs": runs}


def ratios(onnx: dict[str, float], python: dict[str, float]) -> dict[str, float]:
    """ONNX / Python for every measure the two share (counts excepted)."""
    return {key: round(onnx[key] / python[key], 2) for key in onnx
            if key.endswith("_ms") and python.get(key)}


def compare(env_id: str, args: argparse.Namespace, cold: bool) -> dict:
    """Every measure of the ONNX policy and its Python twin on ``env_id``, with the ratios."""
    bundles = agents(env_id)
    factories, _ = sandbox_factories("docker", list(bundles.values()))  # builds the images
    by_kind = dict(zip(bundles, factories, strict=True))
    report: dict[str, Any] = {}
    measures = {"per_move": lambda kind: per_move_ms(by_kind[kind], env_id, args.moves),
                "warm_start_up": lambda kind: warm_start_ups(by_kind[kind], env_id,
                                                             args.matches)}
    if cold and args.cold:
        measures["cold_start_up"] = lambda kind: cold_start_ups(bundles[kind], env_id, args.cold)
    for name, measure in measures.items():
        # Python first, then ONNX, then Python again: the baseline's median of both brackets
        # the ONNX run against drift in a machine shared with others.
        first, onnx, second = measure("python"), measure("onnx"), measure("python")
        python = {key: round((first[key] + second[key]) / 2, 3) if key.endswith("_ms")
                  else first[key] for key in first}
        report[name] = {"python": python, "onnx": onnx, "onnx_vs_python": ratios(onnx, python)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--matches", type=int, default=20)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--connect-four", action="store_true")
    args = parser.parse_args()
    try:
        report = {"moves": args.moves, "matches": args.matches, "cold": args.cold,
                  "base_image": get_settings().agent_base_image,
                  CARTPOLE: compare(CARTPOLE, args, cold=True)}
        if args.connect_four:
            report[C4] = compare(C4, args, cold=False)
    finally:
        close_pools()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
