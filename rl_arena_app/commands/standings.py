"""Leaderboards and rating rebuilds."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from rl_arena_app.commands.common import (
    console,
    handles_errors,
    number,
    plain,
    progress,
    progress_bar,
    table,
)
from rl_arena_app.settings import get_settings


def render_table(rows: list[dict[str, Any]], kind: str) -> Table | str:
    """The leaderboard as a table (ratings rounded for display only), with what columns mean."""
    if not rows:
        return "no ranked submissions yet"
    if kind == "solo":
        grid = table("#>", "agent", "owner", "sub>", "v>", "mean return>", "± std>",
                     caption="mean return over the season's secret seeds (higher is better)")
        for r in rows:
            grid.add_row(str(r["rank"]), plain(r["name"]), plain(r["owner"]),
                         str(r["submission"]), str(r["version"]), number(r["score_mean"], 2),
                         number(r["score_std"], 2))
        return grid
    threshold = get_settings().provisional_games
    grid = table("#>", "agent", "owner", "sub>", "v>", "Elo>", "games>", "BT>", "95% interval>",
                 "rank UB>", caption=(
                     "BT: Bradley-Terry strength fitted on every game, with its 95% interval. "
                     "rank UB: the best rank the agent could have given the intervals (1 + the "
                     "agents whose interval lies wholly above its own). "
                     f"? provisional: fewer than {threshold} rated games."))
    for r in rows:
        interval = (f"{number(r['bt_low'])}..{number(r['bt_high'])}"
                    if r["bt_low"] is not None else "-")
        elo = number(r["rating"]) + ("?" if r["provisional"] else " ")
        grid.add_row(str(r["rank"]), plain(r["name"]), plain(r["owner"]), str(r["submission"]),
                     str(r["version"]), elo, str(r["games"]), number(r["bt_rating"]), interval,
                     number(r["rank_ub"]))
    return grid


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""

    @main.command("leaderboard")
    @click.argument("env_id", metavar="ENV")
    @click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list of rows.")
    @handles_errors
    def leaderboard_command(env_id: str, limit: int, as_json: bool) -> None:
        """Show ENV's leaderboard (latest ready version of each agent)."""
        from rl_arena_app.services.environments import env_kind
        from rl_arena_app.services.ratings.json_rows import json_rows

        kind = env_kind(env_id)
        rows = json_rows(env_id, limit=limit)
        if as_json:
            click.echo(json.dumps(rows))
        else:
            console().print(render_table(rows, kind))

    @ratings.command("rebuild")
    @click.argument("env_id", metavar="ENV")
    @handles_errors
    def ratings_rebuild(env_id: str) -> None:
        """Recompute ENV's Elo ratings and rating events from the game history."""
        from rl_arena_app.services.admin import audit
        from rl_arena_app.services.ratings.refresh import rebuild_ratings

        with progress_bar(f"{env_id}: rebuilding ratings") as update:
            games = rebuild_ratings(env_id, progress=lambda done, total: update(completed=done,
                                                                                 total=total))
        audit.record(audit.CLI, "rebuild-ratings", env_id, detail=f"rebuilt from {games} games")
        progress(f"{env_id}: ratings rebuilt from {games} game(s)")

    @ratings.command("bt")
    @click.argument("env_id", metavar="ENV")
    @handles_errors
    def ratings_bt(env_id: str) -> None:
        """Refresh ENV's Bradley-Terry estimates, intervals and Rank(UB)."""
        from rl_arena_app.services.admin import audit
        from rl_arena_app.services.ratings.refresh import refresh_bradley_terry

        players = refresh_bradley_terry(env_id)
        audit.record(audit.CLI, "refresh-bt", env_id, detail=f"fitted {players} versions")
        progress(f"{env_id}: Bradley-Terry refreshed for {players} submission(s)")
