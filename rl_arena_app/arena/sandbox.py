"""What the referee needs from a sandbox that runs one agent (implemented in jobs/sandbox)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Sandbox(Protocol):
    """One running agent. Methods raise AgentFault for the agent's faults, InfrastructureError
    for the platform's."""

    image: str | None

    def launch(self) -> None:
        """Start the agent's process or container; returns without waiting for it to load."""

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until the agent has loaded and said hello."""

    def act(
        self, observation: Any, info: dict[str, Any], reset: dict[str, Any] | None, timeout_s: float
    ) -> tuple[Any, float]:
        """Ask for an action; return (raw action, seconds the agent took)."""

    def close(self) -> None:
        """Stop the agent and remove everything it used; safe to call twice."""


SandboxFactory = Callable[[], Sandbox]
