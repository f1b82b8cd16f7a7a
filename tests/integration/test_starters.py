"""Starter agents in a real sandbox: legal to the end, better than random, as documented."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import numpy as np
import pytest

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.env_docs import RESET_KEYS, doc_of, starter_source
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import RunResult, play
from tests.support.agents import builtin, bundle_from_source
from tests.support.sandboxes import KeptSandboxes

ALL_ENVS = [s.id for s in envs.list_envs()]
DUELS = [s.id for s in envs.list_envs() if s.kind == "duel"]
SOLOS = [s.id for s in envs.list_envs() if s.kind == "solo"]
# Reports what it was sent by failing on purpose: the forfeit detail carries it back.
REPORTER = """
import json

class Agent:
    def reset(self, info):
        self.reset_keys = sorted(info)

    def act(self, observation, info):
        seen = {"dtype": str(observation.dtype), "shape": list(observation.shape),
                "info": sorted(info), "reset": self.reset_keys,
                "mask": str(info["action_mask"].dtype) if "action_mask" in info else None}
        raise RuntimeError("SEEN=" + json.dumps(seen))
"""


def starter(env_id: str) -> AgentBundle:
    """The env's starter agent as a submitted agent.py."""
    return bundle_from_source(starter_source(envs.spec(env_id)), ref=f"starter:{env_id}")


class Runner(KeptSandboxes):
    """Plays runs in process sandboxes on the env's own seed and limits; keeps every sandbox."""

    def __call__(self, env_id: str, bundles: list[AgentBundle], **counts: int) -> RunResult:
        spec = envs.spec(env_id)
        return play(spec, [self._factory(b) for b in bundles], [b.ref for b in bundles],
                    sandbox="process", seed=spec.seed, limits=Limits.for_env(spec), **counts)


@pytest.fixture
def run() -> Iterator[Runner]:
    """A run player; afterwards no agent process and no sandbox folder may be left."""
    runner = Runner()
    yield runner
    runner.assert_cleaned_up()


def mean_return(result: RunResult) -> float:
    return float(np.mean([g.returns[0] for g in result.games]))


def forfeits(result: RunResult) -> list[dict]:
    return [g.forfeit.to_json() for g in result.games if g.forfeit is not None]


@pytest.mark.parametrize("env_id", DUELS)
def test_board_starter_plays_legally_to_the_end_and_beats_random(run, env_id):
    """20 games against builtin:random, seats alternating: no forfeit, at least 16 points."""
    result = run(env_id, [starter(env_id), builtin("random", env_id)], games=20)
    assert forfeits(result) == []
    assert all(g.returns and not g.truncated for g in result.games)
    assert {g.seat_agents[0] for g in result.games} == {0, 1}
    assert result.points()[0] >= 16, result.points()


@pytest.mark.parametrize("env_id", DUELS)
def test_board_starter_replays_identically_from_the_same_seed(run, env_id):
    """Deterministic given the seed: the same run twice makes the same moves."""
    def moves() -> list[list[int]]:
        result = run(env_id, [starter(env_id), starter(env_id)], games=4)
        return [[step["action"] for step in g.steps] for g in result.games]

    first = moves()
    assert first == moves()
    assert len({tuple(game) for game in first}) > 1  # the seed does vary the games


@pytest.mark.parametrize("env_id", SOLOS)
def test_solo_starter_plays_legally_and_beats_random(run, env_id):
    """The env's scoring episodes: no forfeit, within the step limit, a better mean than random."""
    doc = doc_of(envs.spec(env_id))
    result = run(env_id, [starter(env_id)])
    assert forfeits(result) == []
    assert len(result.games) == envs.spec(env_id).episodes
    assert all(0 < len(g.steps) <= doc.max_steps for g in result.games)
    assert mean_return(result) > mean_return(run(env_id, [builtin("random", env_id)]))


def test_solo_starters_score_as_documented(run):
    """What each starter's documentation claims about its score on the scoring seeds."""
    cartpole = run("CartPole-v1", [starter("CartPole-v1")])
    assert mean_return(cartpole) == 500.0  # "keeps the pole up for all 500 steps"
    acrobot = run("Acrobot-v1", [starter("Acrobot-v1")])
    assert mean_return(acrobot) > doc_of(envs.spec("Acrobot-v1")).solved_return
    mountain_car = run("MountainCar-v0", [starter("MountainCar-v0")])
    assert not any(g.truncated for g in mountain_car.games)  # "reaches the flag every time"


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_agents_receive_the_documented_observation_and_info(run, env_id):
    """Through the real harness and wire: dtype, shape and exactly the documented info keys."""
    doc = doc_of(envs.spec(env_id))
    opponents = [builtin("random", env_id)] if env_id in DUELS else []
    result = run(env_id, [bundle_from_source(REPORTER), *opponents], games=1, episodes=1)
    [forfeit] = forfeits(result)
    seen = json.loads(re.search(r"SEEN=(\{.*\})", forfeit["detail"]).group(1))
    assert seen["dtype"] == doc.observation_dtype
    assert tuple(seen["shape"]) == doc.observation_shape
    assert seen["info"] == sorted(e.key for e in doc.info)
    assert seen["reset"] == sorted(RESET_KEYS)
    assert seen["mask"] == ("int8" if env_id in DUELS else None)
