"""`rl-arena` as people run it: a command to its end, or a process in the background."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "rl_arena_app.cli"]


def rl_arena(*args: str, env: dict[str, str] | None = None,
             timeout: float = 240) -> subprocess.CompletedProcess:
    """Run `rl-arena ARGS` as its own process (the test's settings, plus ``env``, in its
    environment); its output as text."""
    return subprocess.run([*CLI, *args], text=True, capture_output=True, timeout=timeout,
                          check=False, env={**os.environ, **(env or {})})


def spawn(*args: str, log: Path) -> subprocess.Popen:
    """`rl-arena ARGS` in the background, in its own session, output to ``log``."""
    return subprocess.Popen([*CLI, *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the process's session and wait for it; a process still there after 30 s
    is killed, and the test fails."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        raise
