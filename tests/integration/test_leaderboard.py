"""Leaderboards: the Redis sorted set, the database fallback, rebuilds and the CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner

from jobs.queue import get_redis
from rl_arena_app.cli import main
from rl_arena_app.db.models import SubmissionStatus
from rl_arena_app.services import matches
from rl_arena_app.services.leaderboard import leaderboard, leaderboard_key, rebuild_leaderboard
from tests.integration.test_matches import duel_summary, make_match, make_submission

KEYS = {"rank", "name", "owner", "submission", "version", "rating", "games", "bt_rating",
        "bt_low", "bt_high", "rank_ub", "provisional"}


def arena() -> tuple[int, int, int]:
    """Three submissions and a few results: a > b > c."""
    a = make_submission("alice@example.org", "alpha")
    b = make_submission("bob@example.org", "beta")
    c = make_submission("carol@example.org", "gamma")
    matches.record_result(make_match(a, b), duel_summary(0, 0), None)
    matches.record_result(make_match(b, c), duel_summary(0, 0), None)
    return a, b, c


def test_rows_come_from_redis_in_rating_order(platform):
    a, b, c = arena()
    rows = leaderboard("tictactoe")
    assert [r["submission"] for r in rows] == [a, b, c]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert set(rows[0]) >= KEYS
    assert rows[0]["name"] == "alpha" and rows[0]["owner"] == "alice@example.org"
    assert rows[0]["games"] == 2 and rows[0]["provisional"] is True
    assert rows[0]["rating"] > 1500 > rows[2]["rating"]
    # The order is Redis': overwrite a score there and the read follows it.
    get_redis().zadd(leaderboard_key("tictactoe"), {str(c): 9999})
    assert leaderboard("tictactoe")[0]["submission"] == c
    assert len(leaderboard("tictactoe", limit=2)) == 2


def test_falls_back_to_the_database_and_repopulates(platform):
    arena()
    expected = leaderboard("tictactoe")
    get_redis().flushdb()
    assert leaderboard("tictactoe") == expected
    assert get_redis().zcard(leaderboard_key("tictactoe")) == 3


def test_rebuild_restores_the_sorted_set(platform):
    a, b, c = arena()
    d = make_submission("dave@example.org", "delta")  # ready, not yet played
    get_redis().zadd(leaderboard_key("tictactoe"), {"424242": 1.0})
    assert rebuild_leaderboard("tictactoe") == 4
    members = get_redis().zrevrange(leaderboard_key("tictactoe"), 0, -1)
    assert [int(m) for m in members] == [a, b, d, c]  # b won back above 1500


def test_only_the_latest_ready_version_is_shown(platform):
    _a, b, c = arena()
    a2 = make_submission("alice@example.org", "alpha", version=2, rating=1400.0)
    make_submission("alice@example.org", "alpha", version=3,
                    status=SubmissionStatus.BUILDING)
    rebuild_leaderboard("tictactoe")
    rows = leaderboard("tictactoe")
    assert [r["submission"] for r in rows] == [b, c, a2]
    assert rows[2]["version"] == 2


def test_solo_leaderboard_ranks_by_mean_score(platform):
    low = make_submission("a@example.org", "low", "CartPole-v1", score_mean=20.0, score_std=3.0)
    high = make_submission("b@example.org", "high", "CartPole-v1", score_mean=200.0,
                           score_std=1.0)
    make_submission("c@example.org", "unscored", "CartPole-v1")
    rows = leaderboard("CartPole-v1")
    assert [r["submission"] for r in rows] == [high, low]
    assert rows[0]["score_mean"] == 200.0 and rows[0]["score_std"] == 1.0


def test_cli_table_json_and_unknown_env(platform):
    arena()
    runner = CliRunner()
    result = runner.invoke(main, ["leaderboard", "tictactoe", "--json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and rows[0]["name"] == "alpha"
    table = runner.invoke(main, ["leaderboard", "tictactoe"])
    assert table.exit_code == 0 and "alpha" in table.stdout and "gamma" in table.stdout
    empty = runner.invoke(main, ["leaderboard", "connect_four"])
    assert empty.exit_code == 0 and "no ranked submissions" in empty.stdout
    bad = runner.invoke(main, ["leaderboard", "chess"])
    assert bad.exit_code == 2 and "unknown environment" in bad.output
