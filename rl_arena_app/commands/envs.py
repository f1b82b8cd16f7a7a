"""`rl-arena env ...`: the environments, how to write an agent for each, starter agents, and
enabling or disabling one. `rl-arena envs ...` is the same group under its older name."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import click

from rl_arena_app.commands.common import admin_action_command, handles_errors, progress
from rl_arena_app.errors import BadInput

OUTPUT = click.Path(dir_okay=False, path_type=Path)


@click.group("env", invoke_without_command=True,
             short_help="The environments: list, show, starter, docs, enable, disable, "
                        "new-season.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array on stdout (as "
              "`env list --json`).")
@click.pass_context
@handles_errors
def env_group(ctx: click.Context, as_json: bool) -> None:
    """The environments: list, show, starter and docs help write an agent; enable and disable
    open or close one. Without a subcommand: list."""
    if ctx.invoked_subcommand is not None:
        if as_json:
            raise BadInput(f"--json belongs after the subcommand: "
                           f"rl-arena env {ctx.invoked_subcommand} ... --json")
        return
    _print_list(as_json)


@env_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array on stdout.")
@handles_errors
def list_command(as_json: bool) -> None:
    """List the environments with their kind and built-in agents."""
    _print_list(as_json)


def _print_list(as_json: bool) -> None:
    from rl_arena_app.services.environments import env_rows

    rows = env_rows()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['id']:<16} {row['kind']:<5} {row['description']}  "
                   f"[{', '.join(row['builtins'])}]")


@env_group.command("show")
@click.argument("env_id", metavar="ENV")
@click.option("--json", "as_json", is_flag=True, help="Print the documentation as one JSON object.")
@handles_errors
def show(env_id: str, as_json: bool) -> None:
    """How to write an agent for ENV.

    Observation, action, info, reward and scoring, limits, an example and the starter agent.
    """
    from rl_arena_app.services.environments import env_json, env_markdown

    if as_json:
        click.echo(json.dumps(env_json(env_id)))
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(env_markdown(env_id, level=1)))


@env_group.command("starter")
@click.argument("env_id", metavar="ENV")
@click.option("-o", "--output", type=OUTPUT, default=None,
              help="Write the agent to this file (default: stdout).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@handles_errors
def starter(env_id: str, output: Path | None, force: bool) -> None:
    """Write a starter agent.py for ENV.

    Short, commented and better than random: a place to begin. Without -o it goes to stdout.
    """
    from rl_arena_app.services.environments import play_command, starter_source

    source = starter_source(env_id)
    if output is None:
        click.echo(source, nl=False)
        return
    write_text(output, source, force=force)
    progress(f"wrote the {env_id} starter agent to {output}; try it: "
             f"{play_command(env_id, str(output))}")


@env_group.command("docs")
@click.option("-o", "--output", type=OUTPUT, default=None,
              help="Write the Markdown to this file, e.g. docs/ENVIRONMENTS.md (default: stdout).")
@handles_errors
def docs(output: Path | None) -> None:
    """Render docs/ENVIRONMENTS.md from the specs.

    The documentation of every environment, as `show` prints each one.
    """
    from rl_arena_app.services.environments import environments_markdown

    text = environments_markdown()
    if output is None:
        click.echo(text, nl=False)
        return
    write_text(output, text, force=True)
    progress(f"wrote {output}")


admin_action_command(env_group, "disable", "Refuse new submissions and make no new matches in "
                     "ENV (open matches still play).")
admin_action_command(env_group, "enable", "Take submissions and make matches in ENV again.")


@env_group.command("new-season")
@click.argument("env_id", metavar="ENV")
@handles_errors
def new_season(env_id: str) -> None:
    """Start a new scoring season of the solo ENV: new secret scoring seeds, every ready
    version rescored on them by a worker (audited; the admin page's log follows it)."""
    from rl_arena_app.services.admin import actions, audit

    entry = actions.perform(audit.CLI, "new-season", env_id)
    if entry.outcome == "failed":
        raise BadInput(entry.detail)
    click.echo(f"audit entry {entry.entry_id}: a worker starts the new season of {env_id} and "
               "rescores its ready versions (the admin page's audit log shows its progress)")


def alias(group: click.Group, name: str) -> click.Group:
    """``group`` under another name, hidden from the help (an older spelling that still works)."""
    twin = copy.copy(group)
    twin.name, twin.hidden = name, True
    twin.help = twin.short_help = f"Alias of `rl-arena {group.name}`."
    return twin


envs_group = alias(env_group, "envs")  # `rl-arena envs`, `envs show X`...: the older spelling


def write_text(path: Path, text: str, *, force: bool) -> None:
    """Write a UTF-8 file; an existing file (unless forced) or a failed write is bad input."""
    if path.exists() and not force:
        raise BadInput(f"{path} exists: pass --force to overwrite it, or choose another -o file")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    main.add_command(env_group)
    main.add_command(envs_group)


if __name__ == "__main__":  # `python -m rl_arena_app.commands.envs docs -o docs/ENVIRONMENTS.md`
    env_group(prog_name="rl-arena env")
