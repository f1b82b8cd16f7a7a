"""Agents the tests submit and play: sources, the hostile agents' folder, bundles."""

from __future__ import annotations

from pathlib import Path

from rl_arena_app.arena.bundle import AgentBundle, bundle_from_bytes, load_bundle
from tests.support.files import zip_bytes

HOSTILE_DIR = Path(__file__).parents[1] / "agents" / "hostile"
HOSTILE_KAGGLE_DIR = HOSTILE_DIR.with_name("hostile_kaggle")
# The first legal move, as an upload's bytes (no import needed).
AGENT = b"def act(observation, info):\n    return int(info['action_mask'].nonzero()[0][0])\n"
# The first legal move again, in other bytes (an upload that differs from AGENT).
ARGMAX_AGENT = b"def act(observation, info):\n    return int(info['action_mask'].argmax())\n"
# The first legal move, with numpy, as an agent.py's text.
FIRST_LEGAL = """\
import numpy as np


def act(observation, info):
    return int(np.flatnonzero(info["action_mask"])[0])
"""


def bundle_from_source(source: str, ref: str = "test-agent") -> AgentBundle:
    """An agent bundle made of a single agent.py."""
    return AgentBundle(ref=ref, files={"agent.py": source.encode()})


def builtin(name: str, env_id: str) -> AgentBundle:
    """A built-in agent's bundle."""
    return load_bundle(f"builtin:{name}", env_id=env_id)


def hostile(name: str) -> AgentBundle:
    """The hostile agent tests/agents/hostile/NAME.py."""
    return bundle_from_source((HOSTILE_DIR / f"{name}.py").read_text(), ref=name)


def hostile_kaggle(name: str) -> AgentBundle:
    """The Kaggle-format twin of hostile agent NAME as uploaded: hostile_kaggle/NAME.py as a .py,
    or the folder hostile_kaggle/NAME/ as a main.py zip with the native NAME.py beside it (main.py
    imports it as a helper module)."""
    folder = HOSTILE_KAGGLE_DIR / name
    if not folder.is_dir():
        return bundle_from_bytes((HOSTILE_KAGGLE_DIR / f"{name}.py").read_bytes(), ref=f"{name}.py")
    files = {path.name: path.read_bytes() for path in folder.glob("*.py")}
    files[f"{name}.py"] = (HOSTILE_DIR / f"{name}.py").read_bytes()
    return bundle_from_bytes(zip_bytes(files), ref=f"{name}.zip")
