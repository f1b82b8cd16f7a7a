"""`rl-arena agent ...`: add agents and submissions."""

from __future__ import annotations

import json
from typing import Any

import click

from rl_arena_app.commands.common import handles_errors


@click.group("agent")
def agent() -> None:
    """Submit agents and follow their builds."""


@agent.command("add")
@click.argument("env_id", metavar="ENV")
@click.argument("path", metavar="PATH")
@click.option("--name", required=True, help="Agent name: letters, digits, '.', '_', '-'.")
@click.option("--owner", "owner", required=True, help="Owner's email.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handles_errors
def add(env_id: str, path: str, name: str, owner: str, as_json: bool) -> None:
    """Submit PATH (agent.py, a folder, a .zip/.tar.gz, or builtin:NAME) as a new version."""
    from rl_arena_app.services.submissions import describe, submit

    submission = submit(path, env_id=env_id, name=name, owner_email=owner)
    row = describe(submission.id)
    if as_json:
        click.echo(json.dumps(row, default=str))
        return
    click.echo(f"submission {row['submission']}: {row['agent']} v{row['version']} "
               f"({row['env']}, {row['owner']}) {row['status']}; build enqueued")


@agent.command("list")
@click.argument("env_id", metavar="[ENV]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array on stdout.")
@handles_errors
def list_command(env_id: str | None, as_json: bool) -> None:
    """List submissions (of ENV when given) with their status."""
    from rl_arena_app.services.submissions import list_submissions

    rows = list_submissions(env_id)
    if as_json:
        click.echo(json.dumps(rows, default=str))
        return
    for row in rows:
        click.echo(_line(row))
    if not rows:
        click.echo("no submissions yet: add one with `rl-arena agent add ENV PATH`")


def _line(row: dict[str, Any]) -> str:
    """One submission as a table line."""
    why = f"  ({row['reason']})" if row["reason"] else ""
    label = f"{row['agent']} v{row['version']}"
    return (f"{row['submission']:>5}  {row['env']:<14} {label:<24} {row['owner']:<28}"
            f" {row['status']:<10} {row['rating']:7.1f}{why}")


@agent.command("show")
@click.argument("submission_id", metavar="SUBMISSION_ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handles_errors
def show(submission_id: int, as_json: bool) -> None:
    """Show a submission: status, reason and the log tail of a failed build."""
    from rl_arena_app.services.submissions import describe

    row = describe(submission_id)
    if as_json:
        click.echo(json.dumps(row, default=str))
        return
    for key, value in row.items():
        if key != "log_tail" and value is not None:
            click.echo(f"{key:>15}: {value}")
    if row["log_tail"]:
        click.echo("log tail:")
        click.echo(row["log_tail"])


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    main.add_command(agent)
