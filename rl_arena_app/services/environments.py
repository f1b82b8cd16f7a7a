"""The environments as the registry defines them: kinds, documentation and starter agents.

No database (so `rl-arena env` starts fast): `catalog` adds what the database knows of each.
"""

from __future__ import annotations

from typing import Any

from rl_arena_app.arena import env_docs, envs
from rl_arena_app.arena.baselines import available


def env_ids() -> list[str]:
    """Every environment's id, sorted."""
    return [spec.id for spec in envs.list_envs()]


def env_kind(env_id: str) -> str:
    """duel or solo (BadInput naming the known ids for an unknown one)."""
    return envs.spec(env_id).kind


def env_rows() -> list[dict[str, Any]]:
    """One JSON-ready row per registered environment: `rl-arena env list --json`."""
    rows = []
    for spec in envs.list_envs():
        doc = env_docs.doc_of(spec)
        rows.append({"id": spec.id, "kind": spec.kind, "version": spec.version,
                     "description": spec.description,
                     "builtins": [f"builtin:{n}" for n in available(spec.id)],
                     "observation_shape": list(doc.observation_shape),
                     "observation_dtype": doc.observation_dtype, "actions": len(doc.actions),
                     "starter": doc.starter})
    return rows


def env_markdown(env_id: str, *, level: int = 2) -> str:
    """How to write an agent for the environment, as Markdown with its title at ``level``."""
    return env_docs.render_env(envs.spec(env_id), level=level)


def env_json(env_id: str) -> dict[str, Any]:
    """Everything documented about the environment, as plain JSON."""
    return env_docs.as_json(envs.spec(env_id))


def environments_markdown() -> str:
    """The whole of docs/ENVIRONMENTS.md."""
    return env_docs.render_document(envs.list_envs())


def starter_source(env_id: str) -> str:
    """The source of the environment's starter agent."""
    return env_docs.starter_source(envs.spec(env_id))


def play_command(env_id: str, agent: str) -> str:
    """The command that tries ``agent`` locally on the environment."""
    return env_docs.play_command(envs.spec(env_id), agent)
