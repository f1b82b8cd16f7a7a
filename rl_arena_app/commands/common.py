"""What every command shares: progress on stderr, and exit codes for bad input and failures."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rl_arena_app.core.text import printable
from rl_arena_app.errors import BadInput, InfrastructureError

EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3
DESCRIPTION_CHARS = 60  # of a progress bar's step, so that the bar keeps its room


def progress(message: str) -> None:
    """Progress of long steps, on stderr (one printable line)."""
    click.echo(f"rl-arena: {printable(message)}", err=True)


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (as Rich decides it), where progress bars are drawn."""
    return Console(stderr=True).is_terminal


@contextmanager
def progress_bar(label: str, *, counted: bool = True) -> Iterator[Callable[..., None]]:
    """A Rich progress bar on stderr while the block runs, only when stderr is a terminal
    (pipes, logs and tests see nothing); yields ``update(completed=, total=, description=)``.
    Work that is not ``counted`` (a build) shows its latest step and a pulsing bar."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               *([MofNCompleteColumn()] if counted else []), TimeElapsedColumn())
    # stdout is left alone: it may be carrying a command's JSON.
    with Progress(*columns, console=Console(stderr=True), transient=True,
                  redirect_stdout=False, disable=not stderr_is_terminal()) as bar:
        task = bar.add_task(label, total=None)

        def update(**fields: Any) -> None:
            if "description" in fields:
                fields["description"] = printable(str(fields["description"]))[:DESCRIPTION_CHARS]
            bar.update(task, **fields)

        yield update


def clean(value: Any, *, multiline: bool = False) -> str:
    """Text from an agent or a person, fit for a terminal: escape sequences, controls and bidi
    overrides removed (``multiline`` keeps newlines and tabs: log tails, tracebacks)."""
    return printable(str(value), multiline=multiline)


def console() -> Console:
    """Where tables go: stdout, wide enough for whole rows when it is not a terminal."""
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200, highlight=False,
                   soft_wrap=False)


def plain(value: Any, *, multiline: bool = False) -> Text:
    """A cell shown as is: never read as markup, cleaned (``clean``); '-' when there is none."""
    return Text("-" if value is None else clean(value, multiline=multiline))


def number(value: float | None, digits: int = 0) -> str:
    """A rounded number for display, or '-' when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def table(*columns: str, caption: str | None = None) -> Table:
    """A table in the CLI's style; a column named with a trailing ``>`` is right-aligned."""
    grid = Table(caption=caption, caption_justify="left", header_style="bold", box=None,
                 pad_edge=False, show_edge=False)
    for column in columns:
        right = column.endswith(">")
        grid.add_column(column.rstrip(">"), justify="right" if right else "left")
    return grid


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
        except BadInput as exc:  # messages quote what people (or a remote arena) gave
            click.echo(f"error: {clean(exc, multiline=True)}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except InfrastructureError as exc:
            click.echo(f"error: {clean(exc, multiline=True)}", err=True)
            sys.exit(EXIT_INFRASTRUCTURE)
        except KeyboardInterrupt:
            click.echo("interrupted; sandboxes removed", err=True)
            sys.exit(130)

    return wrapper


def run_admin_action(name: str, target: str) -> None:
    """Do an admin action as the server's shell (audited like the dashboard's) and say how."""
    from rl_arena_app.services.admin import actions, audit

    entry = actions.perform(audit.CLI, name, target)
    if entry.outcome == "failed":
        raise BadInput(entry.detail)
    click.echo(clean(entry.detail, multiline=True))


def admin_action_command(group: click.Group, action: str, help_text: str) -> click.Command:
    """Add `GROUP ACTION ENV` to ``group``: the admin action ``action`` on one environment."""

    @group.command(action, help=help_text)
    @click.argument("env_id", metavar="ENV")
    @handles_errors
    def command(env_id: str) -> None:
        run_admin_action(action, env_id)

    return command
