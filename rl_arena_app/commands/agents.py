"""`rl-arena agent ...`: add agents and submissions."""

from __future__ import annotations

import json
from typing import Any

import click

from rl_arena_app.commands.common import clean, console, handles_errors, number, plain, table
from rl_arena_app.commands.submit import metadata_options


@click.group("agent")
def agent() -> None:
    """Submit agents and follow their builds."""


@agent.command("add")
@click.argument("env_id", metavar="ENV")
@click.argument("path", metavar="PATH")
@click.option("--name", required=True, help="Agent name: letters, digits, '.', '_', '-'.")
@click.option("--owner", "owner", required=True, help="Owner's email.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@metadata_options
@handles_errors
def add(env_id: str, path: str, name: str, owner: str, as_json: bool,
        **metadata: str | None) -> None:
    """Submit PATH (agent.py, policy.onnx, a folder, a .zip/.tar.gz, or builtin:NAME) as a new
    version."""
    from rl_arena_app.services.submissions.intake import Metadata, submit
    from rl_arena_app.services.submissions.listing import describe

    submission = submit(path, env_id=env_id, name=name, owner_email=owner,
                        metadata=Metadata(**metadata))
    row = describe(submission.id)
    if as_json:
        click.echo(json.dumps(row, default=str))
        return
    click.echo(f"submission {row['submission']}: {clean(row['agent'])} v{row['version']} "
               f"({row['env']}, {clean(row['owner'])}) {row['status']}; build enqueued")


@agent.command("list")
@click.argument("env_id", metavar="[ENV]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array on stdout.")
@handles_errors
def list_command(env_id: str | None, as_json: bool) -> None:
    """List submissions (of ENV when given) with their status."""
    from rl_arena_app.services.submissions.listing import list_submissions

    rows = list_submissions(env_id)
    if as_json:
        click.echo(json.dumps(rows, default=str))
        return
    if not rows:
        click.echo("no submissions yet: add one with `rl-arena agent add ENV PATH`")
        return
    grid = table("id>", "env", "agent", "owner", "status", "Elo / score>", "games>", "reason",
                 caption="Elo for two-player games, mean return for solo tasks")
    for row in rows:
        grid.add_row(str(row["submission"]), plain(row["env"]),
                     plain(f"{row['agent']} v{row['version']}"), plain(row["owner"]),
                     plain(row["status"]), _strength(row), str(row["games"]),
                     plain(row["reason"] or ""))
    console().print(grid)


def _strength(row: dict[str, Any]) -> str:
    """Elo for a duel submission, mean return for a solo one (nothing before it is scored)."""
    if row["kind"] == "solo":
        return number(row["score_mean"], 1)
    return number(row["rating"])


@agent.command("show")
@click.argument("submission_id", metavar="SUBMISSION_ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handles_errors
def show(submission_id: int, as_json: bool) -> None:
    """Show a submission: status, reason and the log tail of a failed build."""
    from rl_arena_app.services.submissions.listing import describe

    row = describe(submission_id)
    if as_json:
        click.echo(json.dumps(row, default=str))
        return
    grid = table("", "")
    for key, value in _details(row):
        grid.add_row(key, plain(value))
    out = console()
    out.print(grid)
    if row["log_tail"]:
        out.print("log tail:", style="bold")
        out.print(plain(row["log_tail"], multiline=True))


def _details(row: dict[str, Any]) -> list[tuple[str, Any]]:
    """The submission's fields for a person: rounded, labelled, only those that apply."""
    strength: list[tuple[str, Any]]
    if row["kind"] == "solo":
        strength = [("mean return", _plus_minus(row["score_mean"], row["score_std"]))]
    else:
        strength = [("Elo", f"{number(row['rating'])} after {row['games']} rated game(s), "
                            f"started at {number(row['initial_rating'])}")]
    fields = [("submission", row["submission"]), ("agent", f"{row['agent']} v{row['version']}"),
              ("environment", row["env"]), ("owner", row["owner"]), ("status", row["status"]),
              ("reason", row["reason"]), *strength, ("algorithm", row["algorithm"]),
              ("description", row["description"]), ("source", row["source_url"]),
              ("uploaded as", row["artifact"]),
              ("sha256", row["sha256"]), ("image", row["image"]),
              ("validation replay", row["validation_replay"]),
              ("created", row["created_at"]), ("updated", row["updated_at"])]
    return [(k, v) for k, v in fields if v is not None]


def _plus_minus(mean: float | None, std: float | None) -> str | None:
    """``mean ± std`` with two decimals, or None before the submission is scored."""
    if mean is None:
        return None
    return f"{mean:.2f} ± {std or 0.0:.2f} (standard deviation over the episodes)"


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    main.add_command(agent)
