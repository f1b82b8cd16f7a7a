"""Environment registry in the style of PettingZoo: frozen specs, register, make, list_envs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rl_arena_app.arena.games import DuelGame, SoloGame
from rl_arena_app.arena.outcomes import BadInput

Game = DuelGame | SoloGame


@dataclass(frozen=True)
class EnvSpec:
    """Everything the referee needs to know about one environment."""

    id: str
    kind: Literal["duel", "solo"]
    version: str
    factory: Callable[[], Game] = field(repr=False, compare=False)
    description: str = ""
    move_timeout_s: float = 1.0
    time_bank_s: float = 10.0
    startup_timeout_s: float = 30.0
    games: int = 2
    episodes: int = 10
    # Default run seed; every game's and episode's seed derives from the run seed, so a solo
    # task's scoring episodes are fixed unless a different seed is asked for.
    seed: int = 0
    # Worst possible episode return: a forfeited solo episode scores this.
    worst_return: float = 0.0


_REGISTRY: dict[str, EnvSpec] = {}


def register(spec: EnvSpec) -> EnvSpec:
    """Add an environment; ids are unique."""
    if spec.id in _REGISTRY:
        raise ValueError(f"environment {spec.id!r} is already registered")
    _REGISTRY[spec.id] = spec
    return spec


def spec(env_id: str) -> EnvSpec:
    """Look up a spec; unknown ids are a user error listing the known ones."""
    try:
        return _REGISTRY[env_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise BadInput(f"unknown environment {env_id!r}: use one of {known}") from None


def make(env_id: str) -> Game:
    """Build a fresh game instance for an environment id."""
    return spec(env_id).factory()


def list_envs() -> list[EnvSpec]:
    """All registered environments, sorted by id."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def _tictactoe() -> DuelGame:
    from pettingzoo.classic.tictactoe import tictactoe

    return DuelGame(tictactoe.raw_env, lambda env: "".join(map(str, env.board.squares)))


def _connect_four() -> DuelGame:
    from pettingzoo.classic.connect_four import connect_four

    return DuelGame(connect_four.raw_env, lambda env: "".join(map(str, env.board)))


register(EnvSpec("tictactoe", "duel", "pettingzoo-tictactoe_v3", _tictactoe,
                 "Tic-tac-toe on a 3x3 board (PettingZoo classic).", games=2))
register(EnvSpec("connect_four", "duel", "pettingzoo-connect_four_v3", _connect_four,
                 "Connect four on a 6x7 board (PettingZoo classic).", games=2))
register(EnvSpec("CartPole-v1", "solo", "gymnasium-CartPole-v1", lambda: SoloGame("CartPole-v1"),
                 "Balance a pole on a cart; +1 per step, at most 500.", worst_return=0.0))
register(EnvSpec("Acrobot-v1", "solo", "gymnasium-Acrobot-v1", lambda: SoloGame("Acrobot-v1"),
                 "Swing a two-link arm above a line; -1 per step, at most 500.",
                 worst_return=-500.0))
register(EnvSpec("MountainCar-v0", "solo", "gymnasium-MountainCar-v0",
                 lambda: SoloGame("MountainCar-v0"),
                 "Drive an under-powered car up a hill; -1 per step, at most 200.",
                 worst_return=-200.0))
