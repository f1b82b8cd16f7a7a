"""The read models every front end shares, on a real database with a small, known arena."""

from __future__ import annotations

import pytest

from rl_arena_app.core.ratings import expected_score
from rl_arena_app.db.models import EnvState, Submission, SubmissionStatus
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, NotFound
from rl_arena_app.services.admin.env_switches import set_env_enabled
from rl_arena_app.services.catalog import env_card, env_cards, open_env_kinds
from rl_arena_app.services.feed import feed_item, recent_feed
from rl_arena_app.services.matches import play
from rl_arena_app.services.matches.views import match_detail, match_page
from rl_arena_app.services.ratings.head_to_head import head_to_head
from rl_arena_app.services.ratings.json_rows import json_rows
from rl_arena_app.services.ratings.leaderboard import leaderboard_page
from rl_arena_app.services.submissions.agents import agent_view, rating_history
from tests.support.factory import duel_games, make_match, make_submission
from tests.support.rows import fetch

ENV = "tictactoe"


def arena() -> dict[str, int]:
    """alpha beats beta twice, beta draws gamma then forfeits; delta has not played."""
    ids = {"alpha": make_submission("alice@example.org", "alpha"),
           "beta": make_submission("bob@example.org", "beta"),
           "gamma": make_submission("carol@example.org", "gamma"),
           "delta": make_submission("dave@example.org", "delta", rating=1400.0)}
    play.record_result(make_match(ids["alpha"], ids["beta"]), duel_games(0, 0), None)
    play.record_result(make_match(ids["beta"], ids["gamma"]),
                          duel_games(None, None, forfeits={1: 0}), None)
    return ids


def test_leaderboard_page_rows_hold_the_counters_and_ranks(platform):
    ids = arena()

    page = leaderboard_page(ENV)

    assert [r.name for r in page.rows] == ["alpha", "gamma", "beta", "delta"]
    assert [r.rank for r in page.rows] == [1, 2, 3, 4] and page.total == 4
    alpha, gamma, beta, delta = page.rows
    assert (alpha.wins, alpha.draws, alpha.losses, alpha.games) == (2, 0, 0, 2)
    assert (beta.wins, beta.draws, beta.losses, beta.games) == (0, 1, 3, 4)
    assert (gamma.wins, gamma.draws, gamma.losses, gamma.games) == (1, 1, 0, 2)
    assert (delta.games, delta.elo, delta.score) == (0, 1400.0, 1400.0)
    assert alpha.owner_name == "alice" and alpha.owner_email == "alice@example.org"
    assert alpha.elo == fetch(Submission, ids["alpha"]).rating and alpha.provisional
    assert page.provisional_games == platform.provisional_games


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"sort": "name"}, ["alpha", "beta", "delta", "gamma"]),
    ({"sort": "name", "descending": True}, ["gamma", "delta", "beta", "alpha"]),
    ({"sort": "games", "descending": True}, ["beta", "alpha", "gamma", "delta"]),
    ({"sort": "losses", "descending": True}, ["beta", "alpha", "gamma", "delta"]),
    ({"search": "a"}, ["alpha", "gamma", "beta", "delta"]),
    ({"search": "AL"}, ["alpha"]),
    ({"search": "bob"}, ["beta"]),  # the owner's display name
    ({"search": "%"}, []),  # wildcards are literal
    ({"offset": 1, "limit": 2}, ["gamma", "beta"]),
    ({"sort": "rank", "descending": True}, ["delta", "beta", "gamma", "alpha"]),
])
def test_leaderboard_sorts_searches_and_pages_on_the_server(platform, kwargs, names):
    arena()
    page = leaderboard_page(ENV, **kwargs)
    assert [r.name for r in page.rows] == names
    by_name = {r.name: r.rank for r in leaderboard_page(ENV).rows}
    assert all(r.rank == by_name[r.name] for r in page.rows), "rank stays the global one"


def test_cached_pages_move_with_the_envs_data_version(platform):
    ids = arena()
    first = leaderboard_page(ENV)
    with session_scope() as session:  # a change the cache cannot know of yet
        session.get(Submission, ids["delta"]).rating = 3000.0
    assert leaderboard_page(ENV) == first, "same data version: the cached snapshot"

    play.record_result(make_match(ids["delta"], ids["beta"]), duel_games(0), None)

    moved = leaderboard_page(ENV)
    assert moved.rows[0].name == "delta", "the match's event moved the version"
    assert [r["submission"] for r in json_rows(ENV)] == [r.submission_id for r in moved.rows]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sort": "password"}, "unknown sort"), ({"limit": 0}, "page out of range"),
    ({"limit": 500}, "page out of range"), ({"offset": -1}, "page out of range"),
    ({"search": "x" * 101}, "at most 100"), ({"search": "a\x1bb"}, "printable"),
])
def test_leaderboard_refuses_bad_page_arguments(platform, kwargs, message):
    with pytest.raises(BadInput, match=message):
        leaderboard_page(ENV, **kwargs)


def test_solo_rows_carry_a_t_interval_of_the_mean(platform):
    make_submission("a@example.org", "balance", "CartPole-v1", score_mean=200.0, score_std=30.0)
    [row] = leaderboard_page("CartPole-v1").rows
    # 10 episodes: t(0.975, 9) = 2.2622; standard error = 30 / sqrt(9) = 10.
    assert row.episodes == 10 and row.elo is None and row.score == 200.0
    assert row.score_low == pytest.approx(200.0 - 22.6216, abs=1e-3)
    assert row.score_high == pytest.approx(200.0 + 22.6216, abs=1e-3)


def test_head_to_head_counts_both_directions(platform):
    arena()
    h2h = head_to_head(ENV)
    names = [a.name for a in h2h.agents]
    alpha, beta, gamma = names.index("alpha"), names.index("beta"), names.index("gamma")
    assert h2h.games[alpha][beta] == h2h.games[beta][alpha] == 2
    assert (h2h.score[alpha][beta], h2h.score[beta][alpha]) == (2.0, 0.0)
    assert (h2h.score[beta][gamma], h2h.score[gamma][beta]) == (0.5, 1.5)
    assert h2h.games[alpha][gamma] == 0


def test_env_card_counts_and_leader(platform):
    arena()
    with session_scope() as session:
        session.add(EnvState(env_id=ENV, matchmaking_paused=True, tick=7))
    card = env_card(ENV)
    assert (card.agents, card.games, card.games_24h) == (4, 4, 4)
    assert card.leader is not None and card.leader.name == "alpha"
    assert (card.matchmaking, card.tick, card.kind) == ("paused", 7, "duel")
    assert [c.env_id for c in env_cards()][:2] == ["Acrobot-v1", "CartPole-v1"]
    assert env_card("CartPole-v1").matchmaking == "scored at validation"
    with pytest.raises(BadInput, match="unknown environment"):
        env_card("chess")


def test_agent_view_has_versions_records_and_forfeits(platform):
    ids = arena()
    beta_agent = fetch(Submission, ids["beta"]).agent_id
    view = agent_view(beta_agent)
    assert view.name == "beta" and view.owner_name == "bob" and view.kind == "duel"
    assert [v.version for v in view.versions] == [1] and view.current.submission_id == ids["beta"]
    records = {r.opponent.name: r for r in view.opponents}
    assert (records["alpha"].games, records["alpha"].losses) == (2, 2)
    assert (records["gamma"].draws, records["gamma"].losses) == (1, 1)
    assert records["alpha"].actual_score == 0.0
    assert records["alpha"].expected_score == pytest.approx(
        expected_score(1500.0, 1500.0) + expected_score(1480.0, 1520.0))
    assert [(f.reason, f.count) for f in view.forfeits] == [("illegal_action", 1)]
    assert len(view.recent_matches) == 2 and view.recent_matches[0].b.agent.name == "gamma"
    with pytest.raises(NotFound):
        agent_view(999)


def test_rating_history_follows_every_game_across_versions(platform):
    ids = arena()
    alpha = fetch(Submission, ids["alpha"])
    v2 = make_submission("alice@example.org", "alpha", version=2, rating=alpha.rating)
    play.record_result(make_match(v2, ids["delta"]), duel_games(1), None)

    history = rating_history(alpha.agent_id)

    assert [p.game_number for p in history.elo] == [1, 2, 3]
    assert [p.version for p in history.elo] == [1, 1, 2]
    assert history.elo[0].before == 1500.0 and history.elo[-1].after < history.elo[-1].before
    assert history.elo[1].after == alpha.rating and history.bradley_terry == []


def test_match_page_filters_and_detail(platform):
    ids = arena()
    gamma_agent = fetch(Submission, ids["gamma"]).agent_id
    page = match_page(agent_id=gamma_agent)
    assert page.total == 1 and page.matches[0].a.agent.name == "beta"
    [summary] = page.matches
    assert (summary.a.points, summary.b.points, summary.forfeits) == (0.5, 1.5, 1)
    assert summary.status == "finished" and summary.a.elo_after < summary.a.elo_before
    assert match_page(status="queued").total == 0 and match_page(env_id=ENV).total == 2
    detail = match_detail(summary.match_id)
    assert [g.outcome for g in detail.games] == ["draw", "forfeit"]
    assert detail.games[1].forfeit_side == "a" and detail.games[1].winner == "b"
    assert detail.games[1].forfeit_reason == "illegal_action" and detail.seed == 7
    assert detail.games[0].first == "a" and detail.games[1].first == "b"
    assert not detail.has_replay
    with pytest.raises(NotFound):
        match_detail(12345)
    with pytest.raises(BadInput, match="unknown match status"):
        match_page(status="lost")


def test_feed_lines_say_who_did_what(platform):
    ids = arena()
    with session_scope() as session:
        beta = session.get(Submission, ids["beta"])
        beta.status = SubmissionStatus.FAILED
    items = recent_feed()
    assert [i.kind for i in items] == ["match_finished", "match_finished"]
    assert items[0].text.startswith("beta v1 lost to gamma v1 0.5-1.5; Elo beta v1 ")
    assert items[1].match_id is not None
    failed = feed_item({"kind": "submission_status", "status": "failed", "env_id": ENV,
                        "reason": "validation game 1: crash", "agent_id": 3, "name": "x",
                        "version": 2, "submission_id": 9})
    assert failed.text == "x v2 failed: validation game 1: crash"
    assert (failed.match_id, failed.agent_ids) == (None, [3])
    assert feed_item({"kind": "bt_refreshed", "env": ENV}) is None
    assert feed_item({"kind": "match_finished", "env": ENV}) is None  # malformed: skipped


def test_bradley_terry_history_keeps_a_row_per_change(platform):
    from rl_arena_app.services.ratings.refresh import rebuild_ratings, refresh_bradley_terry

    ids = arena()
    alpha_agent = fetch(Submission, ids["alpha"]).agent_id
    refresh_bradley_terry(ENV)
    refresh_bradley_terry(ENV)  # nothing new: no new history row
    [point] = rating_history(alpha_agent).bradley_terry
    alpha = fetch(Submission, ids["alpha"])
    assert (point.rating, point.low, point.high) == (alpha.bt_rating, alpha.bt_low, alpha.bt_high)
    assert point.low < point.rating < point.high and alpha.bt_rank_ub == 1

    play.record_result(make_match(ids["alpha"], ids["delta"]), duel_games(0), None)
    refresh_bradley_terry(ENV)
    assert len(rating_history(alpha_agent).bradley_terry) == 2

    # A rebuild recounts wins, draws and losses from the games.
    with session_scope() as session:
        session.get(Submission, ids["beta"]).wins = 99
    rebuild_ratings(ENV)
    beta = fetch(Submission, ids["beta"])
    assert (beta.wins, beta.draws, beta.losses) == (0, 1, 3)


def test_rank_ub_counts_only_the_versions_on_the_leaderboard(platform):
    from rl_arena_app.services.ratings.refresh import refresh_bradley_terry

    ids = arena()
    # alpha's first version is superseded by a weak second one: only v2 is shown.
    v2 = make_submission("alice@example.org", "alpha", version=2)
    for _ in range(3):
        play.record_result(make_match(ids["delta"], v2), duel_games(0, 0), None)
    refresh_bradley_terry(ENV)
    rows = {r.name: r for r in leaderboard_page(ENV).rows}
    assert rows["alpha"].version == 2 and len(rows) == 4
    shown_rank_ubs = sorted(r.rank_ub for r in rows.values())
    assert shown_rank_ubs[0] == 1 and max(shown_rank_ubs) <= 4


def test_a_damaged_replay_is_refused_without_naming_a_server_path(platform):
    from rl_arena_app.services.matches import replays

    damaged = platform.data_dir / "replays" / "damaged.json.gz"
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(b"not gzip at all")

    with pytest.raises(BadInput) as refused:
        replays.load_replay("replays/damaged.json.gz")

    assert "damaged" in str(refused.value) and str(platform.data_dir) not in str(refused.value)
    assert "/" not in str(refused.value)


def test_times_come_back_aware_on_every_database(platform):
    from sqlmodel import select

    from rl_arena_app.db.models import AuditEntry, utcnow
    from rl_arena_app.db.session import session_scope

    written = utcnow()
    with session_scope() as session:
        session.add(AuditEntry(at=written, actor="cli", action="probe", target="", outcome="ok",
                               detail=""))
    with session_scope() as session:
        read = session.exec(select(AuditEntry.at)).one()
        entity = session.exec(select(AuditEntry)).one()
    assert read == written and read.utcoffset() is not None  # SQLite itself keeps them naive
    assert entity.at.tzinfo is not None


def test_the_open_envs_are_the_enabled_ones_with_their_kinds(platform):
    set_env_enabled("connect_four", False)
    set_env_enabled("tictactoe", True)  # a state row that says enabled

    kinds = open_env_kinds()

    assert "connect_four" not in kinds
    assert kinds == {card.env_id: card.kind for card in env_cards() if card.enabled}
    assert kinds["tictactoe"] == "duel" and list(kinds) == sorted(kinds)
