"""Referee side of the agent channel: JSON lines over a socket, every read under a deadline."""

from __future__ import annotations

import socket
import time
from typing import Any

from rl_arena_app.arena import protocol
from rl_arena_app.arena.outcomes import AgentFault, Reason


class ChannelClosed(Exception):
    """The agent's end of the socket went away (its process or container died)."""


class Channel:
    """A connected socket to one harness."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()

    def send(self, message: dict[str, Any]) -> None:
        """Send one message; a dead peer raises ChannelClosed."""
        try:
            self.sock.sendall(protocol.encode(message))
        except OSError as exc:
            raise ChannelClosed(str(exc)) from None

    def receive(self, timeout_s: float) -> dict[str, Any]:
        """Read one message before the deadline; garbage is the agent's protocol error."""
        deadline = time.monotonic() + timeout_s
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > protocol.MAX_LINE_BYTES:
                raise AgentFault(Reason.PROTOCOL_ERROR,
                                 f"sent a line longer than {protocol.MAX_LINE_BYTES} bytes")
            # Past the deadline, one non-blocking read still takes what already arrived.
            self.sock.settimeout(max(deadline - time.monotonic(), 0.0))
            try:
                chunk = self.sock.recv(1 << 16)
            except (TimeoutError, BlockingIOError):
                raise TimeoutError from None
            except OSError as exc:
                raise ChannelClosed(str(exc)) from None
            if not chunk:
                raise ChannelClosed("connection closed")
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        try:
            message = protocol.decode(line)
        except (ValueError, UnicodeDecodeError, TypeError, KeyError):
            raise AgentFault(Reason.PROTOCOL_ERROR,
                             f"sent a line that is not a protocol message: {line[:80]!r}"
                             ) from None
        if not isinstance(message, dict) or not isinstance(message.get("t"), str):
            raise AgentFault(Reason.PROTOCOL_ERROR, f"sent a message without a type: {line[:80]!r}")
        return message

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
