"""Built-in baseline agents in the referee's own process: no isolation, for tests and benchmarks."""

from __future__ import annotations

import time
from typing import Any

from jobs.sandbox.harness.harness import load_agent, to_wire
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.errors import BadInput


class InProcessSandbox:
    """Calls a trusted built-in agent directly; a slow move is judged after it returns."""

    image = None

    def __init__(self, bundle: AgentBundle) -> None:
        if bundle.builtin is None:
            raise BadInput("the inprocess sandbox runs only built-in agents (builtin:NAME): "
                           "use --sandbox docker for uploaded code")
        self.bundle = bundle
        self._act: Any = None
        self._reset: Any = None
        self._static: dict[str, Any] = {}

    def launch(self) -> None:
        """Load a fresh copy of the built-in agent's module."""
        source = self.bundle.files["agent.py"].decode()
        self._act, self._reset = load_agent(source, f"<builtin:{self.bundle.builtin}>")

    def wait_ready(self, timeout_s: float) -> None:
        """Nothing to wait for: loading happened in launch()."""

    def act(
        self, observation: Any, info: dict[str, Any], reset: dict[str, Any] | None, timeout_s: float
    ) -> tuple[Any, float]:
        """Call the agent; the referee judges the time it took once it returns."""
        started = time.perf_counter()
        if reset is not None:
            self._static = reset
            if callable(self._reset):
                self._reset(dict(reset))
        action = self._act(observation, {**self._static, **info})
        return to_wire(action), time.perf_counter() - started

    def close(self) -> None:
        """Drop the agent."""
        self._act = self._reset = None
