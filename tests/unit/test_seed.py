"""Which built-in agents the house enters in each environment."""

from __future__ import annotations

from rl_arena_app.arena import envs
from rl_arena_app.services.bootstrap import house_agents


def test_every_env_gets_random_and_duels_get_their_strong_baseline():
    chosen = {env.id: house_agents(env) for env in envs.list_envs()}
    assert chosen["tictactoe"] == ["random", "minimax"]
    assert chosen["connect_four"] == ["random", "lookahead"]
    assert all(names[0] == "random" for names in chosen.values())
    assert all(chosen[e.id] == ["random"] for e in envs.list_envs() if e.kind == "solo")
