"""`rl-arena match rerun MATCH_ID`: play a finished match again and say whether it reproduced."""

from __future__ import annotations

import sys
import time

import click

from rl_arena_app.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_INFRASTRUCTURE,
    clean,
    handles_errors,
    progress,
)

EXIT_DIFFERS = 1
POLL_S = 0.5


@click.group("match")
def match_group() -> None:
    """Matches, from the server's shell."""


@match_group.command("rerun")
@click.argument("match_id", metavar="MATCH_ID")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=900.0,
              show_default=True, help="Seconds to wait for a worker to finish the re-run.")
@handles_errors
def match_rerun(match_id: str, timeout_s: float) -> None:
    """Play finished match MATCH_ID again in fresh sandboxes from its stored seed, environment
    version and images; print `identical` (exit 0), where it first differs (exit 1), or why it
    was refused (exit 2). A worker plays it; the outcome is in the audit log."""
    from rl_arena_app.services.admin import actions, audit
    from rl_arena_app.services.matches.rerun import IDENTICAL

    entry = actions.perform(audit.CLI, "rerun-match", match_id)
    progress(f"re-run of match {entry.target} started (audit entry {entry.entry_id}); "
             "a worker plays it")
    done = _wait(entry.entry_id, timeout_s)
    if done.outcome == "running":
        click.echo(f"error: no worker finished the re-run within {timeout_s:g} s: is a worker "
                   f"running? (audit entry {done.entry_id} shows it when one does)", err=True)
        sys.exit(EXIT_INFRASTRUCTURE)
    detail = clean(done.detail)
    if done.outcome == "ok":
        click.echo(detail)
        sys.exit(0 if detail == IDENTICAL else EXIT_DIFFERS)
    infrastructure = detail.startswith("InfrastructureError")
    click.echo(f"error: {'failed' if infrastructure else 'refused'}: {detail}", err=True)
    sys.exit(EXIT_INFRASTRUCTURE if infrastructure else EXIT_BAD_INPUT)


def _wait(entry_id: int, timeout_s: float):
    """The audit entry once it is no longer running, or as it is when ``timeout_s`` ran out."""
    from rl_arena_app.services.admin import actions, audit

    deadline = time.monotonic() + timeout_s
    shown = ""
    while True:
        entry = actions.audit_entry(audit.CLI, entry_id)
        if entry.outcome != "running" or time.monotonic() > deadline:
            return entry
        if entry.detail and entry.detail != shown:
            progress(entry.detail)
            shown = entry.detail
        time.sleep(POLL_S)


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    main.add_command(match_group)
