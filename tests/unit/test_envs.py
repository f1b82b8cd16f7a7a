"""Conformance of every registered environment: determinism, wire encoding, action masks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rl_arena_app.arena import envs, protocol
from rl_arena_app.arena.envs import EnvSpec
from rl_arena_app.arena.games import IllegalAction
from rl_arena_app.errors import BadInput

ALL_ENVS = [s.id for s in envs.list_envs()]


def rollout(env_id: str, seed: int, steps: int = 60) -> list[tuple]:
    """Random legal play from a seed; returns what an observer would record."""
    game = envs.make(env_id)
    rng = np.random.default_rng(seed)
    trace = []
    game.reset(seed)
    while len(trace) < steps:
        if game.to_move() is None:
            game.reset(seed + len(trace))
            continue
        observation, extra = game.observe()
        mask = extra.get("action_mask")
        legal = np.flatnonzero(mask) if mask is not None else np.arange(game.n_actions)
        action = int(rng.choice(legal))
        rewards = game.step(game.parse_action(action))
        trace.append((np.asarray(observation).tobytes(), action, tuple(rewards), str(game.state())))
    return trace


def test_registry_has_the_builtin_environments():
    assert {"tictactoe", "connect_four", "CartPole-v1", "Acrobot-v1", "MountainCar-v0"} <= set(
        ALL_ENVS)


def test_unknown_env_is_a_user_error_listing_known_ones():
    with pytest.raises(BadInput, match=r"unknown environment 'chess'.*tictactoe"):
        envs.spec("chess")


def test_ids_are_unique():
    with pytest.raises(ValueError, match="already registered"):
        envs.register(EnvSpec("tictactoe", "duel", "x", envs.spec("tictactoe").factory))


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_seeded_play_is_deterministic(env_id):
    assert rollout(env_id, 3) == rollout(env_id, 3)


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_observations_survive_the_wire(env_id):
    game = envs.make(env_id)
    game.reset(5)
    observation, extra = game.observe()
    line = protocol.encode({"t": "act", "obs": observation, "info": {**extra, "step": 0}})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    back = protocol.decode(line[:-1])
    for sent, received in [(observation, back["obs"]),
                           *[(v, back["info"][k]) for k, v in extra.items()]]:
        sent = np.asarray(sent)
        assert isinstance(received, np.ndarray)
        assert received.dtype == sent.dtype and received.shape == sent.shape
        assert np.array_equal(received, sent)


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_action_masks_and_spaces_are_enforced(env_id):
    game = envs.make(env_id)
    game.reset(0)
    rng = np.random.default_rng(0)
    for _ in range(6):
        if game.to_move() is None:
            break
        _, extra = game.observe()
        mask = extra.get("action_mask")
        for action in range(game.n_actions):
            if mask is None or mask[action]:
                assert game.parse_action(action) == action
            else:
                with pytest.raises(IllegalAction, match="not legal"):
                    game.parse_action(action)
        for bad in (True, 1.0, "1", None, [1], -1, game.n_actions):
            with pytest.raises(IllegalAction):
                game.parse_action(bad)
        legal = np.flatnonzero(mask) if mask is not None else np.arange(game.n_actions)
        game.step(int(rng.choice(legal)))


def test_a_huge_action_is_refused_by_its_size_not_spelled_out():
    game = envs.make("tictactoe")
    game.reset(seed=0)
    game.observe()
    with pytest.raises(IllegalAction) as refused:
        game.parse_action(10**3999)
    assert str(refused.value) == "action of 13285 bits is outside [0, 9)"


def test_pure_core_imports_no_infrastructure():
    code = ("import sys, rl_arena_app.core, rl_arena_app.arena.referee, rl_arena_app.arena.run;"
            "bad = {'reflex', 'redis', 'docker', 'sqlalchemy'} & {m.split('.')[0] for m in "
            "sys.modules}; print(sorted(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
