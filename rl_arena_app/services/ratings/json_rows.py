"""Leaderboard rows as plain dicts: the keys `rl-arena leaderboard --json` prints and scripts
read (kept stable; pages and the API use ``ratings.leaderboard``'s typed rows)."""

from __future__ import annotations

from typing import Any

from rl_arena_app.services.ratings.leaderboard import MAX_LIMIT, leaderboard_page
from rl_arena_app.services.read_models import LeaderboardRow


def json_rows(env_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The first ``limit`` rows of the env's leaderboard as plain dicts."""
    page = leaderboard_page(env_id, limit=min(limit, MAX_LIMIT))
    rows = page.rows
    if limit > MAX_LIMIT:  # the CLI may ask for more than a page
        rows = [*rows, *_more(env_id, MAX_LIMIT, limit - MAX_LIMIT)]
    return [json_row(row, page.kind) for row in rows]


def _more(env_id: str, offset: int, count: int) -> list[LeaderboardRow]:
    """Rows after ``offset``, page by page."""
    rows: list[LeaderboardRow] = []
    while count > 0:
        page = leaderboard_page(env_id, offset=offset, limit=min(count, MAX_LIMIT))
        rows += page.rows
        if len(page.rows) < page.limit:
            break
        offset, count = offset + len(page.rows), count - len(page.rows)
    return rows


def json_row(row: LeaderboardRow, kind: str) -> dict[str, Any]:
    """A row with the keys scripts read from `rl-arena leaderboard --json` (and some more)."""
    plain = {"rank": row.rank, "name": row.name, "owner": row.owner_email,
             "agent": row.agent_id, "submission": row.submission_id, "version": row.version,
             "score": row.score, "rating": row.elo, "games": row.games,
             "bt_rating": row.bt_rating, "bt_low": row.bt_low, "bt_high": row.bt_high,
             "rank_ub": row.rank_ub, "provisional": row.provisional, "wins": row.wins,
             "draws": row.draws, "losses": row.losses, "owner_name": row.owner_name,
             "algorithm": row.algorithm}
    if kind == "solo":
        plain |= {"score_mean": row.score_mean, "score_std": row.score_std,
                  "score_low": row.score_low, "score_high": row.score_high,
                  "episodes": row.episodes}
    return plain
