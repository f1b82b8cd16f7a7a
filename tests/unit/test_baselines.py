"""Built-in baseline agents, loaded from their files the way the sandbox loads agent.py."""

from __future__ import annotations

import ast
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium
import numpy as np
import pytest

from rl_arena_app.arena.baselines import BASELINES, available, builtin_path
from rl_arena_app.errors import BadAgent

with warnings.catch_warnings():
    # PettingZoo flags the `*_v3` modules as its "old creation API"; they are what agents face.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pettingzoo.classic import connect_four_v3, tictactoe_v3

BASELINE_DIR = Path(builtin_path("random", "tictactoe")).parent


def load(file_name: str) -> ModuleType:
    """Import a baseline file as a standalone module named `agent`."""
    spec = importlib.util.spec_from_file_location("agent", BASELINE_DIR / file_name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def new_agent(name: str) -> Any:
    """A fresh `Agent` from the named baseline's file."""
    return load(BASELINES[name][0]).Agent()


def play_duel(env_module: Any, agents: list[Any], seed: int, env_id: str) -> list[float]:
    """Play one PettingZoo game; return each seat's final reward. Checks every move is legal."""
    env = env_module.env()
    env.reset(seed=seed)
    n = int(env.action_space(env.possible_agents[0]).n)
    for seat, agent in enumerate(agents):
        if hasattr(agent, "reset"):
            agent.reset(
                {
                    "seed": seed,
                    "env": env_id,
                    "action_space": {"type": "discrete", "n": n},
                    "player": seat,
                    "step": 0,
                    "time_left_s": 10.0,
                }
            )
    returns = [0.0, 0.0]
    step = 0
    for name in env.agent_iter():
        observation, reward, termination, truncation, _ = env.last()
        seat = env.possible_agents.index(name)
        if termination or truncation:
            returns[seat] = float(reward)
            env.step(None)
            continue
        mask = observation["action_mask"]
        info = {"action_mask": mask, "player": seat, "step": step, "time_left_s": 10.0}
        action = agents[seat].act(observation["observation"], info)
        assert isinstance(action, int)
        assert mask[action], f"illegal action {action} (mask {mask.tolist()})"
        env.step(action)
        step += 1
    env.close()
    return returns


def test_registry_and_paths() -> None:
    assert available("tictactoe") == ["minimax", "random"]
    assert available("connect_four") == ["lookahead", "random"]
    assert available("CartPole-v1") == ["random"]
    for name, (file_name, envs) in BASELINES.items():
        for env_id in envs or {"tictactoe", "CartPole-v1"}:
            path = builtin_path(name, env_id)
            assert path.name == file_name and path.is_file()


def test_builtin_path_errors_list_the_choices() -> None:
    with pytest.raises(BadAgent, match="builtin:minimax, builtin:random") as unknown:
        builtin_path("foo", "tictactoe")
    assert "'foo'" in str(unknown.value)
    with pytest.raises(BadAgent, match="builtin:lookahead, builtin:random") as wrong_env:
        builtin_path("minimax", "connect_four")
    assert "'minimax'" in str(wrong_env.value)
    with pytest.raises(BadAgent, match="builtin:random"):
        builtin_path("lookahead", "CartPole-v1")


@pytest.mark.parametrize("file_name", sorted(entry[0] for entry in BASELINES.values()))
def test_baseline_imports_only_stdlib_and_numpy(file_name: str) -> None:
    tree = ast.parse((BASELINE_DIR / file_name).read_text())
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{file_name}: relative import"
            roots = [(node.module or "").split(".")[0]]
        else:
            continue
        for root in roots:
            assert root in allowed, f"{file_name} imports {root}"


def test_random_is_deterministic_and_legal() -> None:
    def moves(seed: int) -> list[int]:
        agents = [new_agent("random"), new_agent("random")]
        log: list[int] = []
        for agent in agents:
            original = agent.act

            def act(observation: Any, info: dict[str, Any], _act: Any = original) -> int:
                action = _act(observation, info)
                log.append(action)
                return action

            agent.act = act
        play_duel(connect_four_v3, agents, seed, "connect_four")
        return log

    assert moves(7) == moves(7)
    assert len({tuple(moves(seed)) for seed in range(5)}) > 1
    for seed in range(10):  # legality is asserted move by move
        play_duel(tictactoe_v3, [new_agent("random"), new_agent("random")], seed, "tictactoe")


def test_random_plays_cartpole_from_the_action_space() -> None:
    env = gymnasium.make("CartPole-v1")
    space = {"type": "discrete", "n": int(env.action_space.n)}
    runs = []
    for _ in range(2):
        agent = new_agent("random")
        agent.reset(
            {
                "seed": 3,
                "env": "CartPole-v1",
                "action_space": space,
                "player": 0,
                "step": 0,
                "time_left_s": 10.0,
            }
        )
        observation, _ = env.reset(seed=3)
        actions = []
        done = False
        while not done:
            action = agent.act(
                observation,
                {"player": 0, "step": len(actions), "time_left_s": 10.0, "action_space": space},
            )
            assert isinstance(action, int) and env.action_space.contains(action)
            actions.append(action)
            observation, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
        runs.append(actions)
    env.close()
    assert runs[0] == runs[1]
    # Without a reset it still answers, using info["action_space"] from the act call.
    fresh = new_agent("random")
    info = {"player": 0, "step": 0, "time_left_s": 1.0, "action_space": space}
    assert fresh.act(np.zeros(4, np.float32), info) in (0, 1)


def test_minimax_never_loses_to_random() -> None:
    results = []
    for game in range(40):
        seat = game % 2
        agents = [new_agent("minimax"), new_agent("random")]
        if seat:
            agents.reverse()
        results.append(play_duel(tictactoe_v3, agents, game, "tictactoe")[seat])
    assert min(results) >= 0, results
    assert results.count(1.0) >= 25  # random blunders often; perfect play cashes in


def test_minimax_self_play_is_a_draw() -> None:
    for seed in range(3):
        returns = play_duel(
            tictactoe_v3, [new_agent("minimax"), new_agent("minimax")], seed, "tictactoe"
        )
        assert returns == [0.0, 0.0]


def tictactoe_obs(rows: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Observation and info from three strings: 'x' own piece, 'o' opponent, '.' empty."""
    cells = "".join(rows)
    obs = np.zeros((3, 3, 2), np.int8)
    obs[..., 0] = np.array([c == "x" for c in cells]).reshape(3, 3)
    obs[..., 1] = np.array([c == "o" for c in cells]).reshape(3, 3)
    mask = np.array([c == "." for c in cells], np.int8)
    return obs, {"action_mask": mask, "player": 0, "step": 0, "time_left_s": 1.0}


def test_minimax_takes_the_fastest_win_and_blocks() -> None:
    agent = new_agent("minimax")
    # Winning at once (cell 2, row 0) beats the slower forced wins elsewhere.
    assert agent.act(*tictactoe_obs(["xx.", "o..", "o.."])) == 2
    # Must block the opponent's column 0 (cell 6, row 2 col 0).
    assert agent.act(*tictactoe_obs(["ox.", "o..", "..x"])) == 6


def test_lookahead_beats_random() -> None:
    wins = 0
    for game in range(40):
        seat = game % 2
        agents = [new_agent("lookahead"), new_agent("random")]
        if seat:
            agents.reverse()
        wins += play_duel(connect_four_v3, agents, game, "connect_four")[seat] == 1.0
    assert wins >= 38


def connect_four_obs(rows: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Observation and info from six strings, top row first: 'x' own, 'o' opponent, '.' empty."""
    obs = np.zeros((6, 7, 2), np.int8)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            obs[r, c, 0] = cell == "x"
            obs[r, c, 1] = cell == "o"
    mask = (obs[0].sum(axis=1) == 0).astype(np.int8)
    return obs, {"action_mask": mask, "player": 0, "step": 0, "time_left_s": 1.0}


def test_lookahead_wins_blocks_and_is_seed_deterministic() -> None:
    empty = ["......."] * 3
    win = connect_four_obs([*empty, ".......", "o.o....", "xxx.oo."])
    assert new_agent("lookahead").act(*win) == 3
    block = connect_four_obs([*empty, ".......", "......o", "x.x.ooo"])
    assert new_agent("lookahead").act(*block) == 3

    def first_moves(seed: int) -> list[int]:
        agent = new_agent("lookahead")
        agent.reset(
            {
                "seed": seed,
                "env": "connect_four",
                "player": 0,
                "step": 0,
                "time_left_s": 10.0,
                "action_space": {"type": "discrete", "n": 7},
            }
        )
        obs, info = connect_four_obs(["......."] * 5 + ["...o..."])
        return [agent.act(obs, info) for _ in range(5)]

    assert first_moves(11) == first_moves(11)
