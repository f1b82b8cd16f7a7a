"""Secret scoring seeds: stable within a season, different per season, env and key, and never
handed to the agent (its `info["seed"]` is a separate value)."""

from __future__ import annotations

from typing import Any, ClassVar

from jobs.sandbox.inprocess import InProcessSandbox
from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import load_bundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import play
from rl_arena_app.arena.scoring_seeds import scoring_key, scoring_seeds

KEY = scoring_key("a-server-secret-of-at-least-thirty-two-bytes")


def env_seeds(key: bytes, env_id: str, season: int) -> list[int]:
    return [s.env_seed for s in scoring_seeds(key, env_id, season, 10)]


def test_seeds_are_stable_within_a_season_and_differ_per_season_env_and_key():
    first = env_seeds(KEY, "CartPole-v1", 1)
    assert first == env_seeds(KEY, "CartPole-v1", 1)
    assert len(set(first)) == 10
    assert set(first).isdisjoint(env_seeds(KEY, "CartPole-v1", 2))
    assert set(first).isdisjoint(env_seeds(KEY, "Acrobot-v1", 1))
    assert set(first).isdisjoint(env_seeds(scoring_key("another-secret-" * 3), "CartPole-v1", 1))
    assert all(0 <= s < 2**32 for s in first)


def test_the_key_is_not_the_secret():
    assert KEY != b"a-server-secret-of-at-least-thirty-two-bytes"
    assert len(KEY) == 32


class Witness(InProcessSandbox):
    """A real in-process agent; what the referee sent it is kept to look at."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def act(self, observation, info, reset, timeout_s):
        self.seen.extend(d for d in (info, reset) if d is not None)
        return super().act(observation, info, reset, timeout_s)


def test_the_agent_never_sees_a_scoring_seed():
    spec = envs.spec("CartPole-v1")
    seeds = scoring_seeds(KEY, spec.id, 3, 4)
    bundle = load_bundle("builtin:random", env_id=spec.id)
    Witness.seen = []

    result = play(spec, [lambda: Witness(bundle)], ["r"], sandbox="inprocess", seed=7,
                  limits=Limits.for_env(spec), episode_seeds=seeds, season=3)

    secret = {s.env_seed for s in seeds}
    shown = {v for d in Witness.seen for v in d.values() if isinstance(v, int)}
    assert shown.isdisjoint(secret)
    assert [d["seed"] for d in Witness.seen if "seed" in d] == [s.agent_seed for s in seeds]
    replay = result.replay()
    assert replay["season"] == 3
    assert [g["seed"] for g in replay["games"]] == [s.env_seed for s in seeds]
