"""Warm sandboxes: a running sandbox with a fork server in it, one fresh agent process per use.

A ``WarmHost`` is one running container (or process sandbox) whose fork server the referee
controls; a ``WarmSandbox`` is one agent process forked in a host leased from the pool. Closing
the sandbox ends the process (the server kills everything it started and wipes the writable
folders) and gives the host back. Whenever a host misbehaves it is discarded, never reused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from rl_arena_app.arena import protocol
from rl_arena_app.arena.outcomes import AgentFault

from .base import SocketSandbox
from .channel import ChannelClosed

# A healthy fork server answers within milliseconds; one that does not is discarded.
CONTROL_TIMEOUT_S = 2.0
# What a reused server may take to clean up after the last match (a fork bomb, a full tmpfs)
# and fork; a new one has the agent's whole start-up allowance, as a cold sandbox has.
REUSED_FORK_TIMEOUT_S = 3.0
MAX_FDS = 4


def signal_name(number: int) -> str:
    """SIGKILL for 9; the number for a signal Python does not name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class Control:
    """The referee's end of a fork server's control socket: JSON lines, with descriptors."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._fds: list[int] = []

    def send(self, message: dict[str, Any]) -> None:
        """Send one message (ChannelClosed if the server is gone, TimeoutError if stuck)."""
        self.sock.settimeout(CONTROL_TIMEOUT_S)
        try:
            self.sock.sendall(protocol.encode(message))
        except TimeoutError:
            raise
        except OSError as exc:
            raise ChannelClosed(str(exc)) from None

    def receive(self, timeout_s: float) -> tuple[dict[str, Any], list[int]]:
        """One message and the descriptors that came with it (the caller owns them)."""
        deadline = time.monotonic() + timeout_s
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > protocol.MAX_LINE_BYTES:
                raise ChannelClosed("fork server sent an overlong line")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                data, fds, _flags, _ = socket.recv_fds(self.sock, 1 << 16, MAX_FDS)
            except TimeoutError:
                raise
            except OSError as exc:
                raise ChannelClosed(str(exc)) from None
            self._fds += fds
            if not data:
                raise ChannelClosed("fork server closed its control socket")
            self._buffer += data
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        fds, self._fds = self._fds, []
        try:
            message = protocol.decode(line)
        except (ValueError, TypeError, KeyError, RecursionError):
            _close_all(fds)
            raise ChannelClosed(f"fork server sent garbage: {line[:80]!r}") from None
        if not isinstance(message, dict):
            _close_all(fds)
            raise ChannelClosed(f"fork server sent garbage: {line[:80]!r}")
        return message, fds

    def close(self) -> None:
        """Close the socket and any descriptor not yet handed out."""
        _close_all(self._fds)
        self._fds = []
        self.sock.close()


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class WarmHost(ABC):
    """One running sandbox with a fork server: leased to one agent process at a time."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.control: Control | None = None
        self.broken = False
        self.forks = 0
        self.last_used = time.monotonic()

    @abstractmethod
    def start(self) -> None:
        """Start the sandbox and its fork server (without waiting for it)."""

    @abstractmethod
    def _accept(self, deadline: float) -> socket.socket:
        """The fork server's control connection (TimeoutError / ChannelClosed)."""

    @abstractmethod
    def post_mortem(self) -> AgentFault:
        """Why the whole sandbox went away (memory limit, exit code, output)."""

    @abstractmethod
    def child_fault(self, report: dict[str, Any]) -> AgentFault:
        """The fault of an agent process that ended as the fork server ``report``\\ s."""

    @abstractmethod
    def destroy(self) -> None:
        """Kill the sandbox and delete its files."""

    def fork(self, deadline: float) -> socket.socket:
        """A connected socket to a fresh agent process (TimeoutError / ChannelClosed)."""
        with self._exchange():
            if self.control is None:  # the server's first fork
                self.control = Control(self._accept(deadline))
                hello, fds = self.control.receive(max(deadline - time.monotonic(), 0.0))
                _close_all(fds)
                if hello.get("t") != "server" or hello.get("v") != protocol.PROTOCOL_VERSION:
                    raise ChannelClosed(
                        f"not a fork server of protocol {protocol.PROTOCOL_VERSION}")
            else:
                deadline = min(deadline, time.monotonic() + REUSED_FORK_TIMEOUT_S)
            self.forks += 1
            self.control.send({"t": "fork"})
            reply, fds = self.control.receive(max(deadline - time.monotonic(), 0.0))
            if reply.get("t") != "forked" or len(fds) != 1:
                _close_all(fds)
                raise ChannelClosed(f"fork server answered {reply.get('t')!r} to fork")
            return socket.socket(fileno=fds[0])

    def exit_report(self) -> dict[str, Any] | None:
        """How the last agent process ended, or None when the server cannot say."""
        if self.control is None:
            return None
        try:
            with self._exchange():
                self.control.send({"t": "status"})
                report, fds = self.control.receive(CONTROL_TIMEOUT_S + 1.0)
        except (ChannelClosed, TimeoutError):
            return None
        _close_all(fds)
        return report if report.get("t") == "exit" else None

    @contextlib.contextmanager
    def _exchange(self) -> Iterator[None]:
        """A request and its answer: anything that cuts one short (a timeout, a job's deadline,
        Ctrl-C) leaves the control stream out of step, so the host is never used again."""
        try:
            yield
        except BaseException:
            self.broken = True
            raise

    def end_child(self) -> None:
        """Ask the server to end the agent process and clean up (it answers nothing)."""
        if self.control is None:
            return
        try:
            self.control.send({"t": "end"})
        except (ChannelClosed, TimeoutError):
            self.broken = True

    def close(self) -> None:
        """Hang up on the server and destroy the sandbox; idempotent."""
        if self.control is not None:
            self.control.close()
            self.control = None
        self.destroy()


class HostLender(Protocol):
    """Where warm sandboxes lease their hosts (a ``SandboxPool``)."""

    def lease(self, key: str, new_host: Callable[[], WarmHost], *, fresh: bool = False
              ) -> WarmHost:
        """An idle host of ``key``, or a new one started now (always a new one if ``fresh``)."""

    def give_back(self, host: WarmHost, *, broken: bool = False) -> None:
        """Return a leased host."""


class WarmSandbox(SocketSandbox):
    """One agent process forked in a warm host leased from the pool."""

    def __init__(self, pool: HostLender, key: str, new_host: Callable[[], WarmHost],
                 image: str | None = None) -> None:
        super().__init__()
        self.image = image
        self.pool = pool
        self.key = key
        self.new_host = new_host
        self.host: WarmHost | None = None

    def launch(self) -> None:
        """Lease a host (starting one when none is idle); the fork waits for wait_ready."""
        self.host = self.pool.lease(self.key, self.new_host)

    def _connect(self, deadline: float) -> socket.socket:
        assert self.host is not None, "launch() first"
        if self.host.forks == 0:
            return self.host.fork(deadline)  # a new host fails like a cold sandbox would
        try:
            return self.host.fork(deadline)
        except (ChannelClosed, TimeoutError):
            # A reused host that cannot fork (its server was killed or stopped by a previous
            # match) is not this agent's fault: start over in a fresh one.
            self.host.broken = True
            self.pool.give_back(self.host)
            self.host = self.pool.lease(self.key, self.new_host, fresh=True)
            return self.host.fork(deadline)

    def _post_mortem(self) -> AgentFault:
        assert self.host is not None
        report = None if self.host.broken else self.host.exit_report()
        if report is None:
            self.host.broken = True
            return self.host.post_mortem()
        if report.get("oom"):
            self.host.broken = True
        return self.host.child_fault(report)

    def _destroy(self) -> None:
        if self.host is None:
            return
        host, self.host = self.host, None
        if not host.broken:
            host.end_child()
        host.last_used = time.monotonic()
        self.pool.give_back(host)
