"""Game adapters: one small interface over PettingZoo duels and Gymnasium single-agent tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np


class IllegalAction(Exception):
    """The agent's answer is not a legal action here; the message says why."""


def parse_discrete(raw: Any, n: int, mask: np.ndarray | None = None) -> int:
    """Validate a discrete action coming off the wire."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise IllegalAction(f"expected an integer action in [0, {n}), got {type(raw).__name__}")
    if not 0 <= raw < n:
        shown = raw if raw.bit_length() <= 63 else f"of {raw.bit_length()} bits"
        raise IllegalAction(f"action {shown} is outside [0, {n})")
    if mask is not None and not mask[raw]:
        legal = np.flatnonzero(mask).tolist()
        raise IllegalAction(f"action {raw} is not legal now (legal: {legal})")
    return raw


class DuelGame:
    """A two-player PettingZoo AEC game, stepped by the referee without PettingZoo's wrappers."""

    kind = "duel"
    n_seats = 2

    def __init__(self, make_raw_env: Callable[[], Any], board_state: Callable[[Any], str]) -> None:
        self.env = make_raw_env()
        self._board_state = board_state
        self.n_actions = int(self.env.action_space(self.env.possible_agents[0]).n)
        self.action_space_info = {"type": "discrete", "n": self.n_actions}

    def reset(self, seed: int) -> None:
        """Start a new game."""
        self.env.reset(seed=seed)
        self._mask: np.ndarray | None = None

    def to_move(self) -> int | None:
        """The seat to act next, or None when the game is over."""
        env = self.env
        if not env.agents or all(env.terminations.values()) or all(env.truncations.values()):
            return None
        return env.possible_agents.index(env.agent_selection)

    def observe(self) -> tuple[Any, dict[str, Any]]:
        """Observation and extra info for the seat to move."""
        view = self.env.observe(self.env.agent_selection)
        self._mask = view["action_mask"]
        return view["observation"], {"action_mask": self._mask}

    def parse_action(self, raw: Any) -> int:
        """Check the agent's answer against the action space and the current mask."""
        return parse_discrete(raw, self.n_actions, self._mask)

    def step(self, action: int) -> list[float]:
        """Apply a legal action; return each seat's reward for this step."""
        self.env.step(action)
        return [float(self.env.rewards[a]) for a in self.env.possible_agents]

    def seat_returns(self) -> list[float]:
        """Each seat's total reward in the finished game."""
        return [float(self.env._cumulative_rewards[a]) for a in self.env.possible_agents]

    def truncated(self) -> bool:
        """Whether the game was cut off rather than finished."""
        return any(self.env.truncations.values())

    def state(self) -> str:
        """Compact board for replays: one character per cell, '0' empty, '1'/'2' the seats."""
        return self._board_state(self.env)


class SoloGame:
    """A single-agent Gymnasium task with a discrete action space."""

    kind = "solo"
    n_seats = 1

    def __init__(self, gym_id: str) -> None:
        self.env = gymnasium.make(gym_id)
        space = self.env.action_space
        if not isinstance(space, gymnasium.spaces.Discrete):
            raise TypeError(f"{gym_id}: only discrete action spaces are supported")
        self.n_actions = int(space.n)
        self.action_space_info = {"type": "discrete", "n": self.n_actions}

    def reset(self, seed: int) -> None:
        """Start a new episode on a fixed seed."""
        self._obs, _ = self.env.reset(seed=seed)
        self._done = self._truncated = False
        self._return = 0.0

    def to_move(self) -> int | None:
        """Seat 0 while the episode runs, None when it ended."""
        return None if self._done or self._truncated else 0

    def observe(self) -> tuple[Any, dict[str, Any]]:
        """The current observation; no action mask."""
        return self._obs, {}

    def parse_action(self, raw: Any) -> int:
        """Check the agent's answer against the action space."""
        return parse_discrete(raw, self.n_actions)

    def step(self, action: int) -> list[float]:
        """Apply an action; return the reward as a one-seat list."""
        self._obs, reward, self._done, self._truncated, _ = self.env.step(action)
        self._return += float(reward)
        return [float(reward)]

    def seat_returns(self) -> list[float]:
        """The episode's return."""
        return [self._return]

    def truncated(self) -> bool:
        """Whether the episode hit its time limit."""
        return bool(self._truncated)

    def state(self) -> list[float]:
        """Compact state for replays: the observation rounded to 4 decimals."""
        return [round(float(x), 4) for x in np.asarray(self._obs).ravel()]
