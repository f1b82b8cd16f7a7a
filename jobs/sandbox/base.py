"""Shared behaviour of sandboxes that talk to the harness over a socket (docker and process)."""

from __future__ import annotations

import contextlib
import socket
import time
from abc import ABC, abstractmethod
from typing import Any

from jobs.sandbox.channel import Channel, ChannelClosed
from rl_arena_app.arena import protocol
from rl_arena_app.arena.outcomes import AgentFault, Reason, move_timeout

HARNESS_FAULTS = {"crash": Reason.CRASH, "resource_limit": Reason.RESOURCE_LIMIT,
                  "illegal_action": Reason.ILLEGAL_ACTION}


class SocketSandbox(ABC):
    """Start a harness somewhere isolated, then exchange JSON lines with it under deadlines."""

    image: str | None = None

    def __init__(self) -> None:
        self.channel: Channel | None = None
        self._closed = False

    @abstractmethod
    def launch(self) -> None:
        """Start the isolated process."""

    @abstractmethod
    def _connect(self, deadline: float) -> socket.socket:
        """Return the socket connected to the harness, or raise TimeoutError / ChannelClosed."""

    @abstractmethod
    def _post_mortem(self) -> AgentFault:
        """Explain why the harness went away (memory limit, crash, exit code, output tail)."""

    @abstractmethod
    def _destroy(self) -> None:
        """Kill the process or container and delete its files."""

    def wait_ready(self, timeout_s: float) -> None:
        """Wait for the harness to load the agent and say it is ready."""
        deadline = time.monotonic() + timeout_s
        try:
            self.channel = Channel(self._connect(deadline))
            message = self.channel.receive(max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            raise AgentFault(Reason.TIMEOUT,
                             f"agent did not start within {timeout_s:.1f}s (start-up allowance)"
                             ) from None
        except ChannelClosed:
            raise self._post_mortem() from None
        if message["t"] == "error":
            raise self._harness_fault(message, fatal=True)
        if message["t"] != "ready":
            raise AgentFault(Reason.PROTOCOL_ERROR, f"expected 'ready', got {message['t']!r}")
        if message.get("v") != protocol.PROTOCOL_VERSION:
            raise AgentFault(Reason.PROTOCOL_ERROR, f"harness speaks protocol {message.get('v')!r}"
                             f", the referee {protocol.PROTOCOL_VERSION}: rebuild the agent image")

    def act(
        self, observation: Any, info: dict[str, Any], reset: dict[str, Any] | None, timeout_s: float
    ) -> tuple[Any, float]:
        """Send an observation, wait for the action until `timeout_s` has passed.

        The time returned runs from just before the observation's first byte is sent (encoding
        it is the referee's work, not counted) to when the answer has been read and decoded;
        the referee refuses an answer whose time exceeds `timeout_s`.
        """
        assert self.channel is not None, "wait_ready() first"
        message: dict[str, Any] = {"t": "act", "obs": observation, "info": info}
        if reset is not None:
            message["reset"] = reset
        line = protocol.encode(message)
        started = time.perf_counter()
        try:
            self.channel.send_line(line, timeout_s)
            reply = self.channel.receive(timeout_s - (time.perf_counter() - started))
        except TimeoutError:
            raise move_timeout(timeout_s) from None
        except ChannelClosed:
            raise self._post_mortem() from None
        elapsed = time.perf_counter() - started
        if reply["t"] == "action" and "a" in reply:
            return reply["a"], elapsed
        if reply["t"] == "error":
            raise self._harness_fault(reply, fatal=reply.get("kind") == "resource_limit")
        raise AgentFault(Reason.PROTOCOL_ERROR, f"expected an action, got {reply['t']!r}")

    @staticmethod
    def _harness_fault(message: dict[str, Any], *, fatal: bool) -> AgentFault:
        reason = HARNESS_FAULTS.get(str(message.get("kind")), Reason.CRASH)
        return AgentFault(reason, str(message.get("detail", ""))[-2000:], fatal=fatal)

    def close(self) -> None:
        """Say goodbye, then tear everything down; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.channel is not None:
            with contextlib.suppress(ChannelClosed):
                self.channel.send({"t": "bye"})
            self.channel.close()
        self._destroy()
