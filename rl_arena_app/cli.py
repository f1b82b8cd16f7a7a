"""The `rl-arena` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from rl_arena_app.arena.faults import fault_summary
from rl_arena_app.commands.common import (
    clean,
    handles_errors,
    progress,
    progress_bar,
    stderr_is_terminal,
)
from rl_arena_app.errors import BadInput

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
    with progress_bar("games" if env.kind == "duel" else "episodes") as update:
        result = play_run(env, factories, list(agents), sandbox=kind,
                          seed=env.seed if seed is None else seed, limits=limits,
                          games=games, episodes=episodes,
                          progress=lambda done, total: update(completed=done, total=total))
    if replay_path is not None:
        write_replay(replay_path, result.replay())
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(render_summary(summary))


def render_summary(summary: dict[str, Any]) -> str:
    """A few human-readable lines for a run (what agents and people wrote made printable)."""
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
            lines += [f"      {clean(line)}"
                      for line in fault_summary(forfeit["detail"]).splitlines()]
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
    from rl_arena_app.core.ratings import (
        MIN_BOOTSTRAP,
        encode_games,
        fit_bradley_terry,
        replay_elo_arrays,
    )

    if 0 < bootstrap < MIN_BOOTSTRAP:
        raise BadInput(f"--bootstrap {bootstrap} is too few rounds to measure a spread: give 0 "
                       f"(Laplace intervals) or at least {MIN_BOOTSTRAP}")
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


_GAMES_COLUMNS = ("a", "b", "score_a")
_MAX_ID_CHARS = 200


def read_games_csv(path: Path) -> list[tuple[str, str, float]]:
    """Rows (a, b, score_a) of a UTF-8 games CSV; bad input names the file and line.

    The first non-blank row is the header; it must name a, b and score_a (other columns are
    ignored). Blank rows are skipped and spaces around a field are dropped.
    """
    import csv
    import io

    text = _games_csv_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: tuple[int, dict[str, int]] | None = None  # header width, positions of a,b,score_a
    games: list[tuple[str, str, float]] = []
    seen_ids: set[str] = set()
    line = 1
    try:
        for row in reader:
            fields = [field.strip() for field in row]
            if any(fields):
                where = f"{path}:{line}"
                if columns is None:
                    columns = _games_csv_header(fields, where)
                else:
                    games.append(_games_csv_row(fields, columns, seen_ids, where))
            line = reader.line_num + 1
    except csv.Error as exc:
        limit = csv.field_size_limit()
        why = (f"a field is longer than {limit} characters (ids are at most {_MAX_ID_CHARS})"
               if "field limit" in str(exc) else f"not a CSV row ({exc})")
        raise BadInput(f"{path}:{line}: {why}; fix or remove that row") from None
    if columns is None:
        raise BadInput(f"{path}:1: the file is empty; start it with the header a,b,score_a")
    if not games:
        raise BadInput(f"{path}:{line}: no games after the header; add rows a,b,score_a")
    return games


def _games_csv_text(path: Path) -> str:
    """The file decoded as UTF-8 (a BOM is dropped); unreadable or other encodings are bad input."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}:1: cannot read the file ({exc.strerror}); check it and its "
                       "permissions") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadInput(f"{path}:1: the file is UTF-16; save it as UTF-8 (CSV UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadInput(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the "
                       "file as UTF-8") from None


def _games_csv_header(fields: list[str], where: str) -> tuple[int, dict[str, int]]:
    """The header's width and the positions of a, b and score_a in it."""
    missing = [name for name in _GAMES_COLUMNS if name not in fields]
    if missing:
        raise BadInput(f"{where}: the first row must be the header a,b,score_a (more columns may "
                       f"follow); missing {','.join(missing)} in {_shown(','.join(fields))}")
    twice = [name for name in _GAMES_COLUMNS if fields.count(name) > 1]
    if twice:
        raise BadInput(f"{where}: the header names {','.join(twice)} more than once; keep one")
    return len(fields), {name: fields.index(name) for name in _GAMES_COLUMNS}


def _games_csv_row(fields: list[str], columns: tuple[int, dict[str, int]], seen_ids: set[str],
                   where: str) -> tuple[str, str, float]:
    """One game (a, b, score_a) from a data row."""
    width, at = columns
    if any("\n" in field or "\r" in field for field in fields):
        raise BadInput(f"{where}: a field runs over several lines; close the quote it opens "
                       "(or remove the stray \")")
    if len(fields) != width:
        raise BadInput(f"{where}: expected {width} fields like the header, got {len(fields)}; "
                       "write a,b,score_a (quote ids that contain commas)")
    a, b, raw_score = fields[at["a"]], fields[at["b"]], fields[at["score_a"]]
    for column, pid in (("a", a), ("b", b)):
        if pid not in seen_ids:
            _check_player_id(column, pid, where)
            seen_ids.add(pid)
    if a == b:
        raise BadInput(f"{where}: {_shown(a)} plays itself; a and b must be different players")
    try:
        score = float(raw_score)
    except ValueError:
        score = -1.0
    if score not in (0.0, 0.5, 1.0):
        raise BadInput(f"{where}: score_a must be 1 (a wins), 0.5 (draw) or 0 (b wins), got "
                       f"{_shown(raw_score)}")
    return a, b, score


def _check_player_id(column: str, pid: str, where: str) -> None:
    """Refuse an empty, overlong or unprintable player id."""
    import unicodedata

    if not pid:
        raise BadInput(f"{where}: the {column} id is empty; name both players")
    if len(pid) > _MAX_ID_CHARS:
        raise BadInput(f"{where}: the {column} id is {len(pid)} characters long; ids are at "
                       f"most {_MAX_ID_CHARS}; shorten it")
    bad = next((ch for ch in pid if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")),
               None)
    if bad is not None:
        raise BadInput(f"{where}: the {column} id {_shown(pid)} holds the control character "
                       f"U+{ord(bad):04X}; ids must be printable")


def _shown(value: str) -> str:
    """A value for an error line: escaped, and cut after 40 characters."""
    return repr(value[:40]) + ("..." if len(value) > 40 else "")


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
    with progress_bar(f"building {tag}", counted=False) as update:
        # Without a terminal, the build's own output goes to stderr as it is.
        follow = (lambda line: update(description=line)) if stderr_is_terminal() else None
        build_base_image(client, tag, method, progress=follow)  # type: ignore[arg-type]
    progress(f"base image {tag} ready")


@main.command()
@handles_errors
def sweep() -> None:
    """Remove sandbox containers and folders left behind by crashed runs."""
    from jobs.sandbox.docker import DockerEngine

    removed = DockerEngine().sweep_orphans()
    click.echo(f"removed {len(removed)} orphaned container(s)")


def _register_platform_commands() -> None:
    """Add the platform's commands (agents, envs, standings, operations), one module each."""
    from rl_arena_app.commands import accounts, agents, completion, envs, ops, standings, submit

    for module in (accounts, agents, completion, envs, ops, standings, submit):
        module.register(main, ratings)


_register_platform_commands()

if __name__ == "__main__":  # `python -m rl_arena_app.cli` reads like the console script
    main(prog_name=PROG)
