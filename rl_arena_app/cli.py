"""The `rl-arena` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from rl_arena_app.commands.common import (
    clean,
    handles_errors,
    progress,
    progress_bar,
    stderr_is_terminal,
)

PROG = "rl-arena"


# `-h` beside `--help`: Click hands the context setting down to every command and group.
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rl-arena", prog_name=PROG, message="%(prog)s %(version)s")
def main() -> None:
    """RL Arena: sandboxed reinforcement-learning competitions."""


@main.command()
@click.argument("env_id", metavar="ENV")
@click.argument("agents", nargs=-1, required=True, metavar="AGENT [AGENT]")
@click.option("--sandbox", type=click.Choice(["docker", "process", "inprocess"]), default=None,
              help="Where agents run (default: RL_ARENA_SANDBOX or docker).")
@click.option("--seed", type=int, default=None, help="Run seed (default: the env's, 0).")
@click.option("--games", type=click.IntRange(min=1), default=None, help="Duel games.")
@click.option("--episodes", type=click.IntRange(min=1), default=None, help="Solo episodes.")
@click.option("--move-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per move.")
@click.option("--time-bank", type=click.FloatRange(min=0), default=None,
              help="Overage seconds per game.")
@click.option("--startup-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds for an agent to load.")
@click.option("--replay", "replay_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the replay (gzip JSON) here.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handles_errors
def play(env_id: str, agents: tuple[str, ...], sandbox: str | None, seed: int | None,
         games: int | None, episodes: int | None, move_timeout: float | None,
         time_bank: float | None, startup_timeout: float | None, replay_path: Path | None,
         as_json: bool) -> None:
    """Play AGENT(s) on ENV: a duel for two-player games, scored episodes for solo tasks.

    AGENT is a .py or .onnx file, a directory or a .zip/.tar.gz with agent.py (or main.py,
    or policy.onnx), or builtin:NAME.
    """
    from jobs.sandbox.factory import runner_for
    from rl_arena_app.services.practice import check_local_run, play_local_run, save_replay
    from rl_arena_app.settings import get_settings

    run = check_local_run(env_id, agents, games=games, episodes=episodes)
    runner = runner_for(sandbox or get_settings().sandbox)
    prepared = runner.prepare(run.bundles, progress)
    with progress_bar(run.unit) as update:
        result = play_local_run(run, prepared, sandbox=runner.kind, seed=seed,
                                move_timeout=move_timeout, time_bank=time_bank,
                                startup_timeout=startup_timeout,
                                played=lambda done, total: update(completed=done, total=total))
    if replay_path is not None:
        save_replay(replay_path, result)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(render_summary(summary))


def render_summary(summary: dict[str, Any]) -> str:
    """A few human-readable lines for a run (what agents and people wrote made printable)."""
    from rl_arena_app.services.practice import forfeit_lines

    names = [clean(a["ref"]) for a in summary["agents"]]
    lines = [f"{summary['env']} ({summary['sandbox']} sandbox, seed {summary['seed']})"]
    for i, game in enumerate(summary.get("games", [])):
        forfeit = game["forfeit"]
        if forfeit:
            what = f"{names[forfeit['agent']]} forfeits ({clean(forfeit['reason'])})"
        elif game["winner"] is None:
            what = "draw"
        else:
            what = f"{names[game['winner']]} wins"
        lines.append(f"  game {i + 1}: {names[game['first']]} first, {what}, {game['steps']} moves")
        if forfeit:  # where and why, as Python shows it
            lines += [f"      {clean(line)}" for line in forfeit_lines(forfeit["detail"])]
    if "points" in summary:
        lines.append("  points: " + ", ".join(
            f"{n} {p:g}" for n, p in zip(names, summary["points"], strict=True)))
    for episode in summary.get("episodes", []):
        extra = f" forfeit ({clean(episode['forfeit']['reason'])})" if episode["forfeit"] else ""
        lines.append(f"  seed {episode['seed']}: return {episode['return']:g}, "
                     f"{episode['steps']} steps, {episode['outcome']}{extra}")
    if "mean_return" in summary:
        lines.append(f"  mean return {summary['mean_return']:.2f} ± {summary['std_return']:.2f}")
    lines.append(f"  {summary['duration_s']:.2f}s")
    return "\n".join(lines)


@main.group()
def ratings() -> None:
    """Rating tools for organisers."""


@ratings.command("fit")
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False,
                                                                path_type=Path))
@click.option("--method", type=click.Choice(["elo", "bt"]), default="elo", show_default=True)
@click.option("--bootstrap", type=click.IntRange(min=0), default=0, show_default=True,
              help="Bradley-Terry intervals: 0 for the Laplace approximation, N >= 10 for a "
                   "parametric bootstrap of N rounds.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handles_errors
def ratings_fit(csv_path: Path, method: str, bootstrap: int, seed: int, as_json: bool) -> None:
    """Fit ratings from a CSV of games with columns a,b,score_a (1 win, 0.5 draw, 0 loss)."""
    from rl_arena_app.services.ratings.fitting import fit_ratings

    fitted = fit_ratings(csv_path, method, bootstrap=bootstrap, seed=seed)
    rows = fitted["ratings"]
    if as_json:
        click.echo(json.dumps(fitted))
        return
    for rank, row in enumerate(rows, 1):
        interval = (f"  [{row['ci_low']:.0f}, {row['ci_high']:.0f}]" if "ci_low" in row else "")
        click.echo(f"{rank:>4}. {row['id']:<24} {row['rating']:7.1f}{interval}  "
                   f"{row['games']} games")


@main.group()
def images() -> None:
    """Docker images for agents."""


@images.command("build-base")
@click.option("--method", type=click.Choice(["auto", "offline", "hub"]), default="auto",
              show_default=True, help="offline: debootstrap (Debian archive); hub: Docker Hub.")
@click.option("--if-missing", is_flag=True, help="Do nothing when the image exists.")
@handles_errors
def build_base(method: str, if_missing: bool) -> None:
    """Build the agent base image (Python + numpy + onnxruntime)."""
    from jobs.images.base import base_image_exists, build_base_image
    from jobs.sandbox.factory import docker_client
    from rl_arena_app.settings import get_settings

    tag = get_settings().agent_base_image
    client = docker_client()
    if if_missing and base_image_exists(client, tag):
        progress(f"base image {tag} is present")
        return
    progress(f"building base image {tag} ({method})")
    with progress_bar(f"building {tag}", counted=False) as update:
        # Without a terminal, the build's own output goes to stderr as it is.
        follow = (lambda line: update(description=line)) if stderr_is_terminal() else None
        build_base_image(client, tag, method, progress=follow)  # type: ignore[arg-type]
    progress(f"base image {tag} ready")


@main.command()
@handles_errors
def sweep() -> None:
    """Remove sandbox containers and folders left behind by crashed runs."""
    from jobs.sandbox.factory import sweep_orphans

    removed = sweep_orphans()
    click.echo(f"removed {len(removed)} orphaned container(s)")


def _register_platform_commands() -> None:
    """Add the platform's commands (agents, envs, standings, operations), one module each."""
    from rl_arena_app.commands import (
        accounts,
        agents,
        completion,
        envs,
        health,
        matches,
        ops,
        standings,
        submit,
    )

    for module in (accounts, agents, completion, envs, health, matches, ops, standings,
                   submit):
        module.register(main, ratings)


_register_platform_commands()

if __name__ == "__main__":  # `python -m rl_arena_app.cli` reads like the console script
    main(prog_name=PROG)
