"""The `rl-arena` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from rl_arena_app.arena.outcomes import BadInput
from rl_arena_app.commands.common import handles_errors, progress


@click.group()
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

    AGENT is a .py file, a directory or a .zip/.tar.gz with agent.py, or builtin:NAME.
    """
    from jobs.sandbox.factory import sandbox_factories
    from rl_arena_app.arena import envs
    from rl_arena_app.arena.bundle import load_bundle
    from rl_arena_app.arena.referee import Limits
    from rl_arena_app.arena.replay import write_replay
    from rl_arena_app.arena.run import play as play_run
    from rl_arena_app.settings import get_settings

    env = envs.spec(env_id)
    wanted = 2 if env.kind == "duel" else 1
    if len(agents) != wanted:
        raise BadInput(f"{env.id} is a {env.kind} environment: give exactly {wanted} "
                       f"agent{'s' if wanted > 1 else ''}, got {len(agents)}")
    if env.kind == "duel" and episodes is not None:
        raise BadInput(f"--episodes is for solo environments; {env.id} is a duel: use --games")
    if env.kind == "solo" and games is not None:
        raise BadInput(f"--games is for duels; {env.id} is a solo task: use --episodes")
    kind = sandbox or get_settings().sandbox
    bundles = [load_bundle(ref, env_id=env.id) for ref in agents]
    factories, _ = sandbox_factories(kind, bundles, progress=progress)
    limits = Limits.for_env(env, move_timeout, time_bank, startup_timeout)
    result = play_run(env, factories, list(agents), sandbox=kind,
                      seed=env.seed if seed is None else seed, limits=limits,
                      games=games, episodes=episodes)
    if replay_path is not None:
        write_replay(replay_path, result.replay())
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(render_summary(summary))


def render_summary(summary: dict[str, Any]) -> str:
    """A few human-readable lines for a run."""
    names = [a["ref"] for a in summary["agents"]]
    lines = [f"{summary['env']} ({summary['sandbox']} sandbox, seed {summary['seed']})"]
    for i, game in enumerate(summary.get("games", [])):
        if game["forfeit"]:
            f = game["forfeit"]
            last_line = (f["detail"].strip().splitlines() or [""])[-1]
            what = f"{names[f['agent']]} forfeits ({f['reason']}: {last_line})"
        elif game["winner"] is None:
            what = "draw"
        else:
            what = f"{names[game['winner']]} wins"
        lines.append(f"  game {i + 1}: {names[game['first']]} first, {what}, {game['steps']} moves")
    if "points" in summary:
        lines.append("  points: " + ", ".join(
            f"{n} {p:g}" for n, p in zip(names, summary["points"], strict=True)))
    for episode in summary.get("episodes", []):
        extra = f" forfeit ({episode['forfeit']['reason']})" if episode["forfeit"] else ""
        lines.append(f"  seed {episode['seed']}: return {episode['return']:g}, "
                     f"{episode['steps']} steps, {episode['outcome']}{extra}")
    if "mean_return" in summary:
        lines.append(f"  mean return {summary['mean_return']:.2f} ± {summary['std_return']:.2f}")
    lines.append(f"  {summary['duration_s']:.2f}s")
    return "\n".join(lines)


@main.command("envs")
@click.option("--json", "as_json", is_flag=True)
def list_envs_command(as_json: bool) -> None:
    """List the registered environments."""
    from rl_arena_app.arena import envs
    from rl_arena_app.arena.baselines import available

    rows = [{"id": s.id, "kind": s.kind, "version": s.version, "description": s.description,
             "builtins": [f"builtin:{n}" for n in available(s.id)]} for s in envs.list_envs()]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['id']:<16} {row['kind']:<5} {row['description']}  "
                   f"[{', '.join(row['builtins'])}]")


@main.group()
def ratings() -> None:
    """Rating tools for organisers."""


@ratings.command("fit")
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False,
                                                                path_type=Path))
@click.option("--method", type=click.Choice(["elo", "bt"]), default="elo", show_default=True)
@click.option("--bootstrap", type=click.IntRange(min=0), default=100, show_default=True,
              help="Bootstrap rounds for Bradley-Terry intervals.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handles_errors
def ratings_fit(csv_path: Path, method: str, bootstrap: int, seed: int, as_json: bool) -> None:
    """Fit ratings from a CSV of games with columns a,b,score_a (1 win, 0.5 draw, 0 loss)."""
    from rl_arena_app.core.ratings import encode_games, fit_bradley_terry, replay_elo_arrays

    games = encode_games(read_games_csv(csv_path))
    n = len(games.ids)
    if method == "elo":
        replay = replay_elo_arrays(games.a_idx, games.b_idx, games.score, n)
        rows = [{"id": pid, "rating": float(replay.ratings[k]), "games": int(replay.games[k])}
                for k, pid in enumerate(games.ids)]
    else:
        fit = fit_bradley_terry(games.a_idx, games.b_idx, games.score, n, bootstrap=bootstrap,
                                seed=seed)
        rows = [{"id": pid, "rating": float(fit.rating[k]), "ci_low": float(fit.ci_low[k]),
                 "ci_high": float(fit.ci_high[k]), "rank_ub": int(fit.rank_ub[k]),
                 "games": int(fit.games[k]), "provisional": bool(fit.provisional[k])}
                for k, pid in enumerate(games.ids)]
    rows.sort(key=lambda row: -row["rating"])
    if as_json:
        click.echo(json.dumps({"method": method, "games": len(games.score), "ratings": rows}))
        return
    for rank, row in enumerate(rows, 1):
        interval = (f"  [{row['ci_low']:.0f}, {row['ci_high']:.0f}]" if "ci_low" in row else "")
        click.echo(f"{rank:>4}. {row['id']:<24} {row['rating']:7.1f}{interval}  "
                   f"{row['games']} games")


def read_games_csv(path: Path) -> list[tuple[str, str, float]]:
    """Rows (a, b, score_a) of a games CSV; a malformed row is bad input naming its line."""
    import csv

    games = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"a", "b", "score_a"} <= set(reader.fieldnames):
            raise BadInput(f"{path}: the header must name the columns a,b,score_a")
        for row in reader:
            try:
                score = float(row["score_a"])
            except (TypeError, ValueError):
                score = -1.0
            if score not in (0.0, 0.5, 1.0) or not row["a"] or not row["b"]:
                raise BadInput(f"{path}:{reader.line_num}: expected a,b,score_a with score_a "
                               f"1, 0.5 or 0, got {row}")
            games.append((row["a"], row["b"], score))
    if not games:
        raise BadInput(f"{path}: no games")
    return games


@main.group()
def images() -> None:
    """Docker images for agents."""


@images.command("build-base")
@click.option("--method", type=click.Choice(["auto", "offline", "hub"]), default="auto",
              show_default=True, help="offline: debootstrap (Debian archive); hub: Docker Hub.")
@click.option("--if-missing", is_flag=True, help="Do nothing when the image exists.")
@handles_errors
def build_base(method: str, if_missing: bool) -> None:
    """Build the agent base image (Python + numpy)."""
    from jobs.images.base import base_image_exists, build_base_image
    from jobs.sandbox.docker import DockerEngine
    from rl_arena_app.settings import get_settings

    tag = get_settings().agent_base_image
    client = DockerEngine().client
    if if_missing and base_image_exists(client, tag):
        progress(f"base image {tag} is present")
        return
    progress(f"building base image {tag} ({method})")
    build_base_image(client, tag, method)  # type: ignore[arg-type]
    progress(f"base image {tag} ready")


@main.command()
@handles_errors
def sweep() -> None:
    """Remove sandbox containers and folders left behind by crashed runs."""
    from jobs.sandbox.docker import DockerEngine

    removed = DockerEngine().sweep_orphans()
    click.echo(f"removed {len(removed)} orphaned container(s)")


def _register_platform_commands() -> None:
    """Add the platform's commands (agents, standings, operations), each in its own module."""
    from rl_arena_app.commands import agents, ops, standings

    for module in (agents, ops, standings):
        module.register(main, ratings)


_register_platform_commands()

if __name__ == "__main__":
    main()
