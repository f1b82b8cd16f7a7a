"""Leaderboards: the Redis sorted set, the database fallback, rebuilds and the CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner

from rl_arena_app.broker import get_redis
from rl_arena_app.cli import main
from rl_arena_app.db.models import SubmissionStatus
from rl_arena_app.services.matches import play
from rl_arena_app.services.ratings.json_rows import json_rows
from rl_arena_app.settings import get_settings
from tests.support.factory import duel_games, make_match, make_submission

KEYS = {"rank", "name", "owner", "submission", "version", "rating", "games", "bt_rating",
        "bt_low", "bt_high", "rank_ub", "provisional"}


def arena() -> tuple[int, int, int]:
    """Three submissions and a few results: a > b > c."""
    a = make_submission("alice@example.org", "alpha")
    b = make_submission("bob@example.org", "beta")
    c = make_submission("carol@example.org", "gamma")
    play.record_result(make_match(a, b), duel_games(0, 0), None)
    play.record_result(make_match(b, c), duel_games(0, 0), None)
    return a, b, c


def test_rows_come_in_rating_order(platform):
    a, b, c = arena()
    rows = json_rows("tictactoe")
    assert [r["submission"] for r in rows] == [a, b, c]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert set(rows[0]) >= KEYS
    assert rows[0]["name"] == "alpha" and rows[0]["owner"] == "alice@example.org"
    assert rows[0]["games"] == 2 and rows[0]["provisional"] is True
    assert rows[0]["rating"] > 1500 > rows[2]["rating"]
    assert len(json_rows("tictactoe", limit=2)) == 2


def test_reads_the_database_when_redis_is_gone(platform, monkeypatch):
    arena()
    expected = json_rows("tictactoe")
    get_redis().flushdb()
    assert json_rows("tictactoe") == expected
    monkeypatch.setenv("RL_ARENA_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    assert json_rows("tictactoe") == expected


def test_only_the_latest_ready_version_is_shown(platform):
    _a, b, c = arena()
    a2 = make_submission("alice@example.org", "alpha", version=2, rating=1400.0)
    make_submission("alice@example.org", "alpha", version=3,
                    status=SubmissionStatus.BUILDING)
    rows = json_rows("tictactoe")
    assert [r["submission"] for r in rows] == [b, c, a2]
    assert rows[2]["version"] == 2


def test_solo_leaderboard_ranks_by_mean_score(platform):
    low = make_submission("a@example.org", "low", "CartPole-v1", score_mean=20.0, score_std=3.0)
    high = make_submission("b@example.org", "high", "CartPole-v1", score_mean=200.0,
                           score_std=1.0)
    make_submission("c@example.org", "unscored", "CartPole-v1")
    rows = json_rows("CartPole-v1")
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
