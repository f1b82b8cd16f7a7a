"""What the referee needs from a sandbox that runs one agent (implemented in jobs/sandbox)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rl_arena_app.arena.bundle import AgentBundle


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
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PreparedAgents:
    """Agents ready to run: one sandbox factory per agent, and the image each runs in."""

    factories: list[SandboxFactory]
    images: list[str | None]


class SandboxRunner(Protocol):
    """Prepares agents for one kind of sandbox (building images when it needs them).

    Services that play are handed a runner; jobs/sandbox implements one per sandbox kind.
    """

    kind: str

    def prepare(self, bundles: Sequence[AgentBundle],
                progress: Progress = lambda _: None) -> PreparedAgents:
        """Make each bundle runnable (BadAgent: the agent's fault; InfrastructureError: ours)."""
