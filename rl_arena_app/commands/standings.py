"""Leaderboards and rating rebuilds."""

from __future__ import annotations

import json
from typing import Any

import click

from rl_arena_app.commands.common import handles_errors, progress


def _fmt(value: float | None, digits: int = 0) -> str:
    """A rounded number, or '-' when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(rows: list[dict[str, Any]], kind: str) -> str:
    """The leaderboard as a fixed-width table (ratings rounded for display only)."""
    if not rows:
        return "no ranked submissions yet"
    if kind == "solo":
        head = f"{'#':>3}  {'name':<24} {'owner':<28} {'sub':>5} {'v':>3} {'score':>10} {'std':>8}"
        lines = [f"{r['rank']:>3}  {r['name'][:24]:<24} {r['owner'][:28]:<28} "
                 f"{r['submission']:>5} {r['version']:>3} {_fmt(r['score_mean'], 2):>10} "
                 f"{_fmt(r['score_std'], 2):>8}" for r in rows]
        return "\n".join([head, *lines])
    head = (f"{'#':>3}  {'name':<24} {'owner':<28} {'sub':>5} {'v':>3} {'elo':>6} {'games':>6} "
            f"{'BT':>6} {'95% CI':>13} {'rank UB':>7}")
    lines = []
    for r in rows:
        ci = f"{_fmt(r['bt_low'])}..{_fmt(r['bt_high'])}" if r["bt_low"] is not None else "-"
        mark = "?" if r["provisional"] else " "
        lines.append(f"{r['rank']:>3}  {r['name'][:24]:<24} {r['owner'][:28]:<28} "
                     f"{r['submission']:>5} {r['version']:>3} {_fmt(r['rating']):>6}{mark}"
                     f"{r['games']:>6} {_fmt(r['bt_rating']):>6} {ci:>13} "
                     f"{r['rank_ub'] if r['rank_ub'] is not None else '-':>7}")
    return "\n".join([head, *lines, "? provisional (fewer rated games than the threshold)"])


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""

    @main.command("leaderboard")
    @click.argument("env_id", metavar="ENV")
    @click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list of rows.")
    @handles_errors
    def leaderboard_command(env_id: str, limit: int, as_json: bool) -> None:
        """Show ENV's leaderboard (latest ready version of each agent)."""
        from rl_arena_app.arena import envs
        from rl_arena_app.services.leaderboard import leaderboard

        kind = envs.spec(env_id).kind
        rows = leaderboard(env_id, limit=limit)
        click.echo(json.dumps(rows) if as_json else render_table(rows, kind))

    @ratings.command("rebuild")
    @click.argument("env_id", metavar="ENV")
    @handles_errors
    def ratings_rebuild(env_id: str) -> None:
        """Recompute ENV's Elo ratings and rating events from the game history."""
        from rl_arena_app.services.ratings import rebuild_ratings

        games = rebuild_ratings(env_id)
        progress(f"{env_id}: ratings rebuilt from {games} game(s)")

    @ratings.command("bt")
    @click.argument("env_id", metavar="ENV")
    @handles_errors
    def ratings_bt(env_id: str) -> None:
        """Refresh ENV's Bradley-Terry estimates, intervals and Rank(UB)."""
        from rl_arena_app.services.ratings import refresh_bradley_terry

        players = refresh_bradley_terry(env_id)
        progress(f"{env_id}: Bradley-Terry refreshed for {players} submission(s)")
