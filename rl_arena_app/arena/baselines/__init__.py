"""Built-in baseline agents: standalone agent.py files selectable as `builtin:<name>`."""

from __future__ import annotations

from pathlib import Path

from rl_arena_app.errors import BadAgent

_DIR = Path(__file__).resolve().parent

BASELINES: dict[str, tuple[str, frozenset[str] | None]] = {
    "random": ("random_agent.py", None),
    "minimax": ("tictactoe_minimax.py", frozenset({"tictactoe"})),
    "lookahead": ("connect_four_lookahead.py", frozenset({"connect_four"})),
}


def available(env_id: str) -> list[str]:
    """Names of the built-in agents that can play `env_id`, sorted."""
    return sorted(name for name, (_, envs) in BASELINES.items() if envs is None or env_id in envs)


def builtin_path(name: str, env_id: str) -> Path:
    """Path of built-in agent `name` for `env_id`; BadAgent if unknown or unsupported there."""
    choices = ", ".join(f"builtin:{n}" for n in available(env_id))
    entry = BASELINES.get(name)
    if entry is None:
        raise BadAgent(f"unknown built-in agent {name!r} for {env_id}: use one of {choices}")
    file_name, envs = entry
    if envs is not None and env_id not in envs:
        supported = ", ".join(sorted(envs))
        raise BadAgent(
            f"built-in agent {name!r} plays only {supported}, not {env_id}: use one of {choices}"
        )
    return _DIR / file_name
