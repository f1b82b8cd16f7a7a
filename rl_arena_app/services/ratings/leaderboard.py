"""Leaderboard pages: one row per agent (its latest ready version), sorted, searched and paged.

A page is cut from the env's snapshot (``ratings.snapshots``: every shown row, ranked, cached
until the env changes) in memory, on the server.
"""

from __future__ import annotations

import math

from scipy import stats

from rl_arena_app.arena import envs
from rl_arena_app.core.text import printable_or_none
from rl_arena_app.errors import BadInput
from rl_arena_app.services.ratings.snapshots import SORT_FIELDS, Entry, snapshot
from rl_arena_app.services.read_models import LeaderboardPage, LeaderboardRow
from rl_arena_app.settings import get_settings

MAX_LIMIT = 200
MAX_SEARCH = 100
SORTS = ("rank", *SORT_FIELDS)


def check_page_args(sort: str, search: str, offset: int, limit: int) -> None:
    """BadInput for a sort, search or page a person could not have meant."""
    if sort not in SORTS:
        raise BadInput(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    if len(search) > MAX_SEARCH or any(ord(c) < 32 for c in search):
        raise BadInput(f"search must be at most {MAX_SEARCH} printable characters")
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"page out of range: offset >= 0 and 1 <= limit <= {MAX_LIMIT}")


def leaderboard_page(env_id: str, *, sort: str = "rank", descending: bool = False,
                     search: str = "", offset: int = 0, limit: int = 50) -> LeaderboardPage:
    """A page of the env's leaderboard: sorted (rows without the value last, ties by rank),
    searched by agent name, owner name or algorithm (case-insensitive substring) and paged, on
    the server."""
    kind = envs.spec(env_id).kind
    search = search.strip()
    check_page_args(sort, search, offset, limit)
    board = snapshot(env_id, kind)
    shown = board.positions(sort, descending, search.lower())
    episodes = envs.spec(env_id).episodes if kind == "solo" else None
    rows = [_row(k + 1, board.entry(k), kind, episodes) for k in shown[offset:offset + limit]]
    return LeaderboardPage(env_id=env_id, kind=kind, rows=rows, total=len(shown),
                           offset=offset, limit=limit, sort=sort, descending=descending,
                           search=search, provisional_games=get_settings().provisional_games)


def _row(rank: int, entry: Entry, kind: str, episodes: int | None) -> LeaderboardRow:
    """One leaderboard row."""
    low, high = _mean_interval(entry.score_mean, entry.score_std, episodes)
    return LeaderboardRow(
        rank=rank, agent_id=entry.agent_id, name=entry.name, owner_name=entry.owner_name,
        owner_email=entry.owner_email, house=entry.house, submission_id=entry.submission_id,
        version=entry.version, algorithm=printable_or_none(entry.algorithm),
        score=entry.rating if kind == "duel" else entry.score_mean,
        elo=entry.rating if kind == "duel" else None, games=entry.games, wins=entry.wins,
        draws=entry.draws, losses=entry.losses,
        provisional=kind == "duel" and entry.games < get_settings().provisional_games,
        bt_rating=entry.bt_rating, bt_low=entry.bt_low, bt_high=entry.bt_high,
        rank_ub=entry.rank_ub, score_mean=entry.score_mean, score_std=entry.score_std,
        score_low=low, score_high=high, episodes=episodes, retired=entry.retired)


def _mean_interval(mean: float | None, std: float | None,
                   episodes: int | None) -> tuple[float | None, float | None]:
    """95% interval of a mean return over ``episodes`` (Student's t; ``std`` is the population
    standard deviation of the episodes' returns)."""
    if mean is None or std is None or not episodes or episodes < 2:
        return None, None
    half = float(stats.t.ppf(0.975, episodes - 1)) * std / math.sqrt(episodes - 1)
    return mean - half, mean + half
