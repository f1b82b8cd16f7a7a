"""What every command shares: progress on stderr, and exit codes for bad input and failures."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from rl_arena_app.arena.outcomes import BadInput, InfrastructureError

EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3


def progress(message: str) -> None:
    """Progress of long steps, on stderr."""
    click.echo(f"rl-arena: {message}", err=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map bad input to exit 2 and infrastructure failures to exit 3, each with one line."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # SIGTERM unwinds like Ctrl-C, so every sandbox is torn down on the way out.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            return command(*args, **kwargs)
        except BadInput as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except InfrastructureError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INFRASTRUCTURE)
        except KeyboardInterrupt:
            click.echo("interrupted; sandboxes removed", err=True)
            sys.exit(130)

    return wrapper
