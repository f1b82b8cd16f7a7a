"""Rating services against a real database: rebuild Elo exactly, refresh Bradley-Terry."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import delete, update

from rl_arena_app.cli import main
from rl_arena_app.db.models import EnvState, RatingEvent, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import events
from rl_arena_app.services.matches import play
from rl_arena_app.services.ratings.refresh import rebuild_ratings, refresh_bradley_terry
from tests.support.factory import duel_games, make_match, make_submission
from tests.support.ratings import play_history, snapshot
from tests.support.rows import fetch


def test_rebuild_reproduces_incremental_ratings_exactly(platform):
    play_history()
    before = snapshot()
    assert len(before[1]) == 120
    assert rebuild_ratings("tictactoe") == 60
    assert snapshot() == before
    # Wipe the derived state: the rebuild restores it from the games alone.
    with session_scope() as session:
        session.exec(delete(RatingEvent))
        session.exec(update(Submission).values(rating=0.0, games=0))
    rebuild_ratings("tictactoe")
    assert snapshot() == before
    assert any(e["kind"] == "ratings_rebuilt" for e in events.recent())


def test_rebuild_keeps_other_envs(platform):
    a = make_submission("alice@example.org", "a", "connect_four")
    b = make_submission("bob@example.org", "b", "connect_four")
    play.record_result(make_match(a, b, "connect_four"), duel_games(0), None)
    before = snapshot()
    assert rebuild_ratings("tictactoe") == 0
    assert snapshot() == before


def test_bradley_terry_refresh_stores_intervals(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_BT_BOOTSTRAP", "30")
    from rl_arena_app.settings import get_settings

    get_settings.cache_clear()
    strong = make_submission("s@example.org", "strong")
    weak = make_submission("w@example.org", "weak")
    mid = make_submission("m@example.org", "mid")
    idle = make_submission("i@example.org", "idle")
    for _ in range(8):
        play.record_result(make_match(strong, weak), duel_games(0, 0), None)
        play.record_result(make_match(mid, weak), duel_games(0, None), None)
        play.record_result(make_match(strong, mid), duel_games(0, None), None)
    assert refresh_bradley_terry("tictactoe") == 4
    s, w, m, i = (fetch(Submission, k) for k in (strong, weak, mid, idle))
    assert s.bt_rating > m.bt_rating > w.bt_rating
    for sub in (s, w, m):
        assert sub.bt_low <= sub.bt_rating <= sub.bt_high
        assert sub.bt_low < sub.bt_high
    assert s.bt_rank_ub == 1 and w.bt_rank_ub > 1
    assert i.games == 0 and (i.bt_rating, i.bt_low, i.bt_high, i.bt_rank_ub) == (None,) * 4
    assert fetch(EnvState, "tictactoe").bt_refreshed_at is not None


def test_ratings_cli(platform):
    play_history(6)
    before = snapshot()
    runner = CliRunner()
    result = runner.invoke(main, ["ratings", "rebuild", "tictactoe"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before
    result = runner.invoke(main, ["ratings", "bt", "tictactoe"])
    assert result.exit_code == 0, result.output
    rows = json.loads(runner.invoke(main, ["leaderboard", "tictactoe", "--json"]).stdout)
    assert any(r["games"] for r in rows)
    assert all((r["bt_low"] is not None) == (r["games"] > 0) for r in rows)
    result = runner.invoke(main, ["ratings", "rebuild", "nope"])
    assert result.exit_code == 2 and "unknown environment" in result.output
