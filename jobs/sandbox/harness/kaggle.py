"""Kaggle-format agents: a module's last callable, called as agent(observation, configuration).

Standard library only (numpy is the agent's to import: it may bring its own). As Kaggle does:
the arguments are cut to the agent's arity, the observation and configuration are dicts whose
keys are also attributes, and the answer is cast to int.

Board games (connect_four, tictactoe): ``observation.board`` is the grid as a flat row-major
list (row 0 on top; 0 empty, 1 and 2 by mark), ``observation.mark`` 1 for the player who moved
first in this game, ``step`` the moves played so far, ``remainingOverageTime`` what is left of the
time bank. ``configuration`` has ``rows``, ``columns``, ``inarow``, the per-move limit as
``actTimeout`` (and Kaggle's older ``timeout``), the bank as ``agentTimeout``, the longest game as
``episodeSteps`` and the most thinking time a game allows a player as ``runTimeout``.
Solo tasks: the observation is the env's observation as a plain list, the configuration has the
time limits and ``actions``, the number of actions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

# The board games Kaggle's observation fits: grid size and line length.
BOARDS = {
    "connect_four": {"rows": 6, "columns": 7, "inarow": 4},
    "tictactoe": {"rows": 3, "columns": 3, "inarow": 3},
}
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_SHOWN_CHARS = 60
_MAX_ACTION_BITS = 63  # no action number comes near; a longer int is never shown whole
_AN_INT = "an int (a column, a cell or an action number)"


class Struct(dict):
    """A dict whose keys are also attributes (``obs.board`` and ``obs["board"]``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


class NotAnAction(Exception):
    """A Kaggle agent's answer cannot be cast to int."""


def last_callable(namespace: dict[str, Any]) -> Callable[..., Any] | None:
    """The last callable value of a module's namespace (imported names count), as Kaggle picks."""
    found = [value for value in namespace.values() if callable(value)]
    return found[-1] if found else None


def arity(agent: Callable[..., Any]) -> int:
    """How many of (observation, configuration) the agent takes: its positional parameters."""
    try:
        parameters = inspect.signature(agent).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: give it both
        return 2
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 2
    return min(2, sum(p.kind in _POSITIONAL for p in parameters))


def as_action(answer: Any) -> int:
    """The answer cast to int; anything that cannot be is refused with what it was."""
    try:
        action = int(answer)
    except (TypeError, ValueError, OverflowError):
        shown = (repr(answer)[:_SHOWN_CHARS] if isinstance(answer, str | bytes | float | None)
                 else f"a value of type {type(answer).__name__}")
        raise NotAnAction(f"the Kaggle agent returned {shown}, which is not an action: return "
                          f"{_AN_INT}") from None
    if action.bit_length() > _MAX_ACTION_BITS:  # str() of it may not even be allowed
        raise NotAnAction(f"the Kaggle agent returned an int of {action.bit_length()} bits, "
                          f"which is not an action: return {_AN_INT}")
    return action


def board_of(planes: Any, mark: int) -> list[int]:
    """The arena's planes (plane 0 the player to move) as Kaggle's flat row-major board."""
    rows = planes.tolist() if hasattr(planes, "tolist") else planes
    return [mark if cell[0] else (3 - mark if cell[1] else 0) for row in rows for cell in row]


def observation_of(observation: Any, info: dict[str, Any]) -> Any:
    """Kaggle's observation for the arena's observation and info."""
    if info.get("env") not in BOARDS:
        return observation.tolist() if hasattr(observation, "tolist") else observation
    mark = int(info.get("player", 0)) + 1  # seat 0 moves first in every game
    overage = float(info.get("time_left_s", 0.0)) - float(info.get("move_timeout_s", 0.0))
    return Struct(board=board_of(observation, mark), mark=mark, step=int(info.get("step", 0)),
                  remainingOverageTime=max(0.0, overage))


def configuration_of(info: dict[str, Any]) -> Struct:
    """Kaggle's configuration: the board's size and the arena's time limits under Kaggle's names."""
    move = float(info.get("move_timeout_s", 0.0))
    bank = float(info.get("time_bank_s", 0.0))
    configuration = Struct(actTimeout=move, timeout=move, agentTimeout=bank)
    board = BOARDS.get(info.get("env"))
    if board is None:
        configuration.actions = int((info.get("action_space") or {}).get("n", 0))
        return configuration
    steps = board["rows"] * board["columns"]
    configuration.update(board, episodeSteps=steps, runTimeout=(steps + 1) // 2 * move + bank)
    return configuration


class KaggleAgent:
    """A Kaggle agent as the harness calls agents: act(observation, info) -> int."""

    def __init__(self, agent: Callable[..., Any]) -> None:
        self.agent = agent
        self.n_args = arity(agent)

    def __call__(self, observation: Any, info: dict[str, Any]) -> int:
        """Convert the arena's observation, call the agent by its arity, cast its answer."""
        arguments = (observation_of(observation, info), configuration_of(info))
        return as_action(self.agent(*arguments[: self.n_args]))
