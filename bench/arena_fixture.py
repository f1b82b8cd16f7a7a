"""A large synthetic arena written straight into the database, for benchmarks of the read side.

``populate(agents, games_per_agent, seed)`` inserts owners, agents, one ready submission each
(with Elo, W/D/L, Bradley-Terry columns), matches, games and rating events with bulk inserts, so
10,000 agents take seconds. The numbers are plausible, not played: only the read side is timed.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert

from rl_arena_app.db.models import (
    Agent,
    BTEstimate,
    Game,
    Match,
    RatingEvent,
    Submission,
    User,
    utcnow,
)
from rl_arena_app.db.session import get_engine

ENV = "connect_four"
BATCH = 5000


def _insert(connection, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(model), rows[start:start + BATCH])


def populate(agents: int, games_per_agent: int = 4, seed: int = 0,
             history_agent_events: int = 0) -> dict[str, int]:
    """Fill the configured database; returns the ids the benchmarks use."""
    rng = random.Random(seed)
    now = utcnow()
    with get_engine().begin() as connection:
        _insert(connection, User, [{"id": k + 1, "email": f"owner{k}@example.org",
                                    "name": f"owner{k}", "is_admin": False, "is_house": False,
                                    "created_at": now} for k in range(agents)])
        _insert(connection, Agent, [{"id": k + 1, "owner_id": k + 1, "env_id": ENV,
                                     "name": f"agent-{k:05d}", "created_at": now}
                                    for k in range(agents)])
        subs = []
        for k in range(agents):
            games = rng.randrange(games_per_agent * 2 + 1)
            wins = rng.randrange(games + 1)
            rating = rng.gauss(1500, 200)
            low = rating - rng.uniform(20, 120)
            subs.append({"id": k + 1, "agent_id": k + 1, "env_id": ENV, "version": 1,
                         "artifact_sha256": "0" * 64, "artifact_name": "agent.py",
                         "status": "ready", "initial_rating": 1500.0, "rating": rating,
                         "games": games, "wins": wins, "draws": 0, "losses": games - wins,
                         "bt_rating": rating, "bt_low": low, "bt_high": 2 * rating - low,
                         "bt_rank_ub": 1 + k % 50, "waited_ticks": 0, "created_at": now,
                         "updated_at": now})
        _insert(connection, Submission, subs)
        if history_agent_events:
            _history(connection, history_agent_events, agents, rng, now)
    return {"agents": agents, "history_agent": 1}


def _history(connection, events: int, agents: int, rng: random.Random, now) -> None:
    """``events`` games of agent 1 against random others, with rating events and BT points."""
    matches, games, ratings, estimates = [], [], [], []
    rating = 1500.0
    for k in range(events):
        at = now - timedelta(minutes=events - k)
        opponent = rng.randrange(2, agents + 1)
        matches.append({"id": k + 1, "env_id": ENV, "seed": k, "player_a_id": 1,
                        "player_b_id": opponent, "status": "finished", "attempts": 1,
                        "points_a": 1.0, "points_b": 0.0, "created_at": at, "finished_at": at})
        score = rng.choice((0.0, 0.5, 1.0))
        games.append({"id": k + 1, "match_id": k + 1, "index": 0, "env_id": ENV,
                      "player_a_id": 1, "player_b_id": opponent, "first": 0,
                      "outcome": "draw" if score == 0.5 else "win", "score_a": score,
                      "steps": 20, "duration_s": 0.01, "played_at": at})
        after = rating + rng.uniform(-16, 16)
        ratings += [{"submission_id": 1, "game_id": k + 1, "before": rating, "after": after,
                     "at": at},
                    {"submission_id": opponent, "game_id": k + 1, "before": 1500.0,
                     "after": 1500.0, "at": at}]
        rating = after
        if k % 50 == 0:
            estimates.append({"submission_id": 1, "env_id": ENV, "rating": rating,
                              "low": rating - 40, "high": rating + 40, "rank_ub": 3,
                              "games": k + 1, "at": at})
    _insert(connection, Match, matches)
    _insert(connection, Game, games)
    _insert(connection, RatingEvent, ratings)
    _insert(connection, BTEstimate, estimates)
