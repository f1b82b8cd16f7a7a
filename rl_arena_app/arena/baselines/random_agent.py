"""Built-in baseline: a uniformly random legal action (standalone agent.py: stdlib + numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np


class Agent:
    """Plays uniformly at random among legal actions; deterministic for a given reset seed."""

    def __init__(self) -> None:
        self._rng = np.random.default_rng()
        self._n: int | None = None

    def reset(self, info: dict[str, Any]) -> None:
        """Reseed from the game's seed and remember the action-space size."""
        self._rng = np.random.default_rng(info.get("seed"))
        self._n = _space_size(info) or self._n

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        """Pick a legal action: from the action mask if there is one, else from range(n)."""
        mask = info.get("action_mask")
        if mask is not None:
            legal = np.flatnonzero(np.asarray(mask).ravel())
            if legal.size:
                return int(legal[self._rng.integers(legal.size)])
        n = _space_size(info) or self._n
        if not n:
            return 0
        return int(self._rng.integers(n))


def _space_size(info: dict[str, Any]) -> int | None:
    """The number of discrete actions announced in info["action_space"], if any."""
    space = info.get("action_space")
    if isinstance(space, dict) and space.get("n") is not None:
        return int(space["n"])
    return None
