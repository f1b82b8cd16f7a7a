"""Ratings: Elo updates, K schedule, exact replay, Bradley-Terry fits, intervals and Rank(UB)."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from rl_arena_app.core import ratings
from rl_arena_app.core.matchmaking import Candidate, MatchmakingConfig, pair
from rl_arena_app.core.ratings import (
    DEFAULT_ELO,
    EloConfig,
    RatingEvent,
    elo_update,
    encode_games,
    expected_score,
    fit_bradley_terry,
    k_factor,
    rank_upper_bound,
    replay_elo,
    replay_elo_arrays,
)

# ----------------------------------------------------------------------------------- Elo


def test_expected_score_hand_values() -> None:
    assert expected_score(1500.0, 1500.0) == 0.5
    assert expected_score(1900.0, 1500.0) == pytest.approx(10 / 11)
    assert expected_score(1500.0, 1900.0) == pytest.approx(1 / 11)
    assert expected_score(1600.0, 1500.0, scale=100.0) == pytest.approx(10 / 11)


def test_first_win_between_equals_moves_twenty_points() -> None:
    assert elo_update(1500.0, 1500.0, 1.0) == (1520.0, 1480.0)
    assert elo_update(1500.0, 1500.0, 0.0) == (1480.0, 1520.0)


def test_draws() -> None:
    assert elo_update(1500.0, 1500.0, 0.5) == (1500.0, 1500.0)
    # 1600 vs 1400, both provisional (K=40): E_a = 1 / (1 + 10**-0.5) = 0.7597469...
    new_a, new_b = elo_update(1600.0, 1400.0, 0.5)
    assert new_a == pytest.approx(1600.0 - 40 * 0.2597469266479578)
    assert new_b == pytest.approx(1400.0 + 40 * 0.2597469266479578)
    assert new_a == pytest.approx(1589.6101229)


def test_each_side_uses_its_own_k() -> None:
    # a has 25 games (K=24), b has none (K=40).
    assert elo_update(1500.0, 1500.0, 1.0, games_a=25, games_b=0) == (1512.0, 1480.0)
    assert elo_update(1500.0, 1500.0, 0.0, games_a=10, games_b=20) == (1484.0, 1512.0)


def test_k_schedule_boundaries() -> None:
    assert [k_factor(g) for g in (0, 9, 10, 19, 20, 1000)] == [40, 40, 32, 32, 24, 24]


def test_k_schedule_in_replay_game_10_11_21() -> None:
    # "hero" plays 25 games, each against a fresh opponent; recover the K it used each game.
    games = [("hero", f"opp{g}", 1.0) for g in range(25)]
    result = replay_elo(games)
    used = []
    for event in result.events:
        expected = expected_score(event.a_before, event.b_before)
        used.append((event.a_after - event.a_before) / (1.0 - expected))
    assert used[9] == pytest.approx(40.0)  # game 10
    assert used[10] == pytest.approx(32.0)  # game 11
    assert used[19] == pytest.approx(32.0)  # game 20
    assert used[20] == pytest.approx(24.0)  # game 21
    assert result.games["hero"] == 25


def test_configurable_schedule_and_validation() -> None:
    config = EloConfig(start=1000.0, scale=200.0, k_schedule=((5, 50.0),), k_final=10.0)
    assert [k_factor(g, config) for g in (0, 4, 5)] == [50.0, 50.0, 10.0]
    assert elo_update(1000.0, 1000.0, 1.0, config=config) == (1025.0, 975.0)
    assert replay_elo([("a", "b", 1.0)], config).ratings == {"a": 1025.0, "b": 975.0}
    flat = EloConfig(k_schedule=(), k_final=16.0)
    assert elo_update(1500.0, 1500.0, 1.0, config=flat) == (1508.0, 1492.0)
    with pytest.raises(ValueError):
        EloConfig(k_schedule=((20, 40.0), (10, 32.0)))
    with pytest.raises(ValueError):
        EloConfig(scale=0.0)
    with pytest.raises(ValueError):
        elo_update(1500.0, 1500.0, 0.7)
    with pytest.raises(ValueError):
        replay_elo([("a", "a", 1.0)])
    with pytest.raises(ValueError):
        replay_elo([("a", "b", 2.0)])


def _incremental(games, initial=None, initial_games=None, config=DEFAULT_ELO):
    """The reference: elo_update applied game by game on dicts."""
    ratings = dict(initial or {})
    played = dict(initial_games or {})
    events = []
    for index, (a, b, score) in enumerate(games):
        ra = ratings.get(a, config.start)
        rb = ratings.get(b, config.start)
        ga, gb = played.get(a, 0), played.get(b, 0)
        na, nb = elo_update(ra, rb, score, ga, gb, config)
        ratings[a], ratings[b] = na, nb
        played[a], played[b] = ga + 1, gb + 1
        events.append(RatingEvent(index, ra, na, rb, nb))
    return ratings, played, events


def _random_games(rng: np.random.Generator, n_games: int, n_players: int):
    a = rng.integers(0, n_players, n_games)
    b = (a + rng.integers(1, n_players, n_games)) % n_players
    s = rng.choice([0.0, 0.5, 1.0], n_games)
    return a, b, s


def test_incremental_equals_replay_exactly() -> None:
    rng = np.random.default_rng(7)
    a, b, s = _random_games(rng, 5000, 30)
    games = [(f"p{x}", f"p{y}", float(z)) for x, y, z in zip(a, b, s, strict=True)]
    initial = {"p3": 1720.25, "p4": 1333.125}
    initial_games = {"p4": 15}
    ratings, played, events = _incremental(games, initial, initial_games)
    result = replay_elo(games, initial=initial, initial_games=initial_games)
    assert result.ratings == ratings  # exact float equality, no tolerance
    assert result.games == played
    assert list(result.events) == events
    assert result.events[123] == events[123]
    assert result.events[-1] == events[-1]
    assert len(result.events) == len(games)
    # The integer fast path is the same computation.
    enc = encode_games(games, known=result.ids)
    fast = replay_elo_arrays(
        enc.a_idx, enc.b_idx, enc.score, len(enc.ids),
        initial=[initial.get(i, 1500.0) for i in enc.ids],
        initial_games=[initial_games.get(i, 0) for i in enc.ids],
    )
    assert fast.ratings.tolist() == [ratings[i] for i in enc.ids]
    assert fast.after_a.tolist() == [e.a_after for e in events]
    assert fast.before_b.tolist() == [e.b_before for e in events]


def test_rebuild_in_two_halves_equals_one_replay() -> None:
    rng = np.random.default_rng(11)
    a, b, s = _random_games(rng, 2000, 12)
    games = list(zip(a.tolist(), b.tolist(), s.tolist(), strict=True))
    full = replay_elo(games)
    first = replay_elo(games[:777])
    second = replay_elo(games[777:], initial=first.ratings, initial_games=first.games)
    assert second.ratings == full.ratings
    assert second.games == full.games


def test_new_version_starts_from_predecessor_with_provisional_k() -> None:
    history = [("v1", "other", 1.0)] * 30
    old = replay_elo(history)
    assert old.games["v1"] == 30
    # v2 inherits v1's rating but has played no games: its first game uses K=40.
    new = replay_elo([("v2", "other", 1.0)], initial={"v2": old.ratings["v1"], **old.ratings},
                     initial_games={"other": old.games["other"]})
    e = expected_score(old.ratings["v1"], old.ratings["other"])
    assert new.ratings["v2"] == old.ratings["v1"] + 40.0 * (1.0 - e)
    assert new.ratings["other"] == old.ratings["other"] - 24.0 * (1.0 - e)
    assert new.games["v2"] == 1
    assert new.ratings["v1"] == old.ratings["v1"]  # known ids without games are kept


def test_events_chain_and_empty_history() -> None:
    result = replay_elo([("a", "b", 1.0), ("b", "c", 0.5), ("c", "a", 0.0)])
    e0, e1, e2 = result.events
    assert e0 == RatingEvent(0, 1500.0, 1520.0, 1500.0, 1480.0)
    assert e1.a_before == e0.b_after and e2.b_before == e0.a_after and e2.a_before == e1.b_after
    assert result.events[0:2] == [e0, e1]
    with pytest.raises(IndexError):
        result.events[3]
    empty = replay_elo([], initial={"x": 1234.5})
    assert empty.ratings == {"x": 1234.5} and empty.games == {"x": 0} and len(empty.events) == 0


rating = st.floats(min_value=-1000.0, max_value=5000.0, allow_nan=False)


@settings(max_examples=300, deadline=None, database=None)
@given(ra=rating, rb=rating, score=st.sampled_from([0.0, 0.5, 1.0]),
       played=st.integers(min_value=0, max_value=100))
def test_elo_zero_sum_with_shared_k(ra: float, rb: float, score: float, played: int) -> None:
    na, nb = elo_update(ra, rb, score, played, played)
    assert math.isfinite(na) and math.isfinite(nb)
    assert abs((na - ra) + (nb - rb)) < 1e-9
    assert abs(na - ra) <= k_factor(played)


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from([0, 0.5, 1]))
                .filter(lambda g: g[0] != g[1]), max_size=60))
def test_replay_matches_incremental_for_any_history(games) -> None:
    ratings, played, _ = _incremental(games)
    result = replay_elo(games)
    assert result.ratings == ratings
    assert result.games == played
    assert all(math.isfinite(r) for r in result.ratings.values())


# --------------------------------------------------------------------------- Bradley-Terry


def _simulate(rng: np.random.Generator, true: np.ndarray, n_games: int, draws: float = 0.0):
    """Games between random pairs; a draws with probability ``draws``, else a Bernoulli win."""
    n = len(true)
    a = rng.integers(0, n, n_games)
    b = (a + rng.integers(1, n, n_games)) % n
    p = 1.0 / (1.0 + 10.0 ** ((true[b] - true[a]) / 400.0))
    s = (rng.random(n_games) < p).astype(float)
    s[rng.random(n_games) < draws] = 0.5
    return a, b, s


def _centred(true: np.ndarray) -> np.ndarray:
    return true - true.mean() + 1500.0


def test_bt_recovers_known_strengths() -> None:
    rng = np.random.default_rng(1)
    true = rng.normal(1500.0, 200.0, 40)
    a, b, s = _simulate(rng, true, 40_000)
    fit = fit_bradley_terry(a, b, s, 40, bootstrap=0)
    assert np.corrcoef(fit.rating, true)[0, 1] > 0.99
    assert np.abs(fit.rating - _centred(true)).mean() < 15.0
    assert fit.rating.mean() == pytest.approx(1500.0)
    assert fit.converged


def _scipy_reference(a, b, s, n_players, prior=1.0):
    """Independent solver: per-game negative log-likelihood with the same prior, via L-BFGS."""

    def nll(theta):
        d = theta[a] - theta[b]
        value = np.sum(s * np.logaddexp(0.0, -d) + (1.0 - s) * np.logaddexp(0.0, d))
        value += prior * np.sum(0.5 * np.logaddexp(0.0, -theta) + 0.5 * np.logaddexp(0.0, theta))
        p = 1.0 / (1.0 + np.exp(-d))
        g = np.zeros(n_players)
        np.add.at(g, a, p - s)
        np.add.at(g, b, s - p)
        g += prior * (1.0 / (1.0 + np.exp(-theta)) - 0.5)
        return value, g

    res = minimize(nll, np.zeros(n_players), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    theta = res.x
    return 1500.0 + 400.0 / np.log(10.0) * (theta - theta.mean())


@pytest.mark.parametrize("method", ["newton", "mm"])
def test_bt_agrees_with_scipy(method: str) -> None:
    rng = np.random.default_rng(2)
    true = rng.normal(1500.0, 250.0, 20)
    a, b, s = _simulate(rng, true, 3000, draws=0.1)
    # Stress: player 20 wins all its games, 21 and 22 only play each other, 23 never plays.
    a = np.concatenate([a, [20] * 8, [21, 22, 21]])
    b = np.concatenate([b, list(range(8)), [22, 21, 22]])
    s = np.concatenate([s, [1.0] * 8, [1.0, 0.5, 0.0]])
    fit = fit_bradley_terry(a, b, s, 24, bootstrap=0, method=method)
    reference = _scipy_reference(a, b, s, 24)
    assert np.abs(fit.rating - reference).max() < 0.5
    assert np.all(np.isfinite(fit.rating))


def test_bt_newton_and_mm_agree() -> None:
    rng = np.random.default_rng(3)
    true = rng.normal(1500.0, 150.0, 15)
    a, b, s = _simulate(rng, true, 2000, draws=0.2)
    newton = fit_bradley_terry(a, b, s, 15, bootstrap=0, method="newton")
    mm = fit_bradley_terry(a, b, s, 15, bootstrap=0, method="mm")
    assert np.abs(newton.rating - mm.rating).max() < 1e-3


def test_bt_intervals_cover_truth_and_shrink() -> None:
    rng = np.random.default_rng(4)
    true = rng.normal(1500.0, 200.0, 30)
    a, b, s = _simulate(rng, true, 33_000)
    small = fit_bradley_terry(a[:3000], b[:3000], s[:3000], 30, bootstrap=100, seed=5)
    big = fit_bradley_terry(a, b, s, 30, bootstrap=100, seed=5)
    truth = _centred(true)
    for fit in (small, big):
        assert np.all(fit.ci_low <= fit.rating) and np.all(fit.rating <= fit.ci_high)
        covered = (fit.ci_low <= truth) & (truth <= fit.ci_high)
        assert covered.mean() >= 0.8
    width_small = (small.ci_high - small.ci_low).mean()
    width_big = (big.ci_high - big.ci_low).mean()
    assert width_big < 0.5 * width_small  # ~11x the games: about 1/sqrt(11) the width
    again = fit_bradley_terry(a[:3000], b[:3000], s[:3000], 30, bootstrap=100, seed=5)
    assert np.array_equal(again.ci_low, small.ci_low)  # the seed makes it reproducible


def test_rank_upper_bound_hand_example() -> None:
    low = np.array([1600.0, 1500.0, 1400.0, 1200.0, 1550.0])
    high = np.array([1700.0, 1650.0, 1550.0, 1390.0, 1600.0])
    # 0: nobody's low > 1700 -> 1; 1: none > 1650 -> 1; 2: 1600 > 1550 -> 2 (1550 is not >);
    # 3: 1600, 1500, 1400, 1550 > 1390 -> 5; 4: none > 1600 (1600 is not >) -> 1.
    assert rank_upper_bound(low, high).tolist() == [1, 1, 2, 5, 1]


def test_bt_result_rank_ub_and_provisional() -> None:
    rng = np.random.default_rng(6)
    true = np.array([1900.0, 1500.0, 1500.0, 1100.0, 1500.0])
    a, b, s = _simulate(rng, true[:4], 4000)
    a = np.concatenate([a, [4, 4, 4]])
    b = np.concatenate([b, [1, 2, 1]])
    s = np.concatenate([s, [1.0, 0.0, 0.5]])
    fit = fit_bradley_terry(a, b, s, 5, bootstrap=50, min_games=10)
    assert fit.games.tolist() == np.bincount(np.concatenate([a, b]), minlength=5).tolist()
    assert fit.provisional.tolist() == [False, False, False, False, True]
    assert fit.rank_ub.tolist() == rank_upper_bound(fit.ci_low, fit.ci_high).tolist()
    assert fit.rank_ub[0] == 1 and fit.rank_ub[3] == fit.rank_ub.max()  # best, worst
    assert fit.rank_ub[1] == fit.rank_ub[2] == 2


def test_bt_degenerate_inputs_are_finite() -> None:
    for method in ("newton", "mm"):
        one = fit_bradley_terry([0], [1], [1.0], 2, bootstrap=20, method=method)
        assert np.all(np.isfinite(one.rating)) and one.rating[0] > one.rating[1]
        assert np.all(np.isfinite(one.ci_low)) and np.all(np.isfinite(one.ci_high))

        a = [0] * 50 + [1, 2, 1]
        b = [1, 2, 3] * 16 + [1, 2] + [2, 3, 3]
        s = [1.0] * 50 + [0.5, 1.0, 0.0]
        winner = fit_bradley_terry(a, b, s, 4, bootstrap=20, method=method)
        assert np.all(np.isfinite(winner.rating)) and winner.rating.argmax() == 0
        assert winner.rating[0] - 1500.0 < 2000.0

        # Two groups that never meet, and a player (index 6) with no games at all.
        rng = np.random.default_rng(8)
        a1, b1, s1 = _simulate(rng, np.array([1600.0, 1500.0, 1400.0]), 300)
        a2, b2, s2 = _simulate(rng, np.array([1700.0, 1300.0, 1500.0]), 300)
        split = fit_bradley_terry(np.concatenate([a1, a2 + 3]), np.concatenate([b1, b2 + 3]),
                                  np.concatenate([s1, s2]), 7, bootstrap=20, method=method)
        assert np.all(np.isfinite(split.rating)) and split.converged
        assert split.games[6] == 0 and split.provisional[6]

    empty = fit_bradley_terry([], [], [], 3)
    assert empty.rating.tolist() == [1500.0, 1500.0, 1500.0]
    assert empty.rank_ub.tolist() == [1, 1, 1]


def test_bt_anchor_and_validation() -> None:
    rng = np.random.default_rng(9)
    a, b, s = _simulate(rng, np.array([1500.0, 1700.0, 1300.0]), 500)
    fit = fit_bradley_terry(a, b, s, 3, bootstrap=0, anchor=2)
    assert fit.rating[2] == pytest.approx(1500.0)
    assert fit.rating[1] > fit.rating[0] > fit.rating[2]
    with pytest.raises(ValueError):
        fit_bradley_terry([0], [3], [1.0], 3)
    with pytest.raises(ValueError):
        fit_bradley_terry([1], [1], [1.0], 3)
    with pytest.raises(ValueError):
        fit_bradley_terry([0], [1], [0.3], 3)
    with pytest.raises(ValueError):
        fit_bradley_terry([0], [1], [1.0], 3, prior_games=0.0)


def _perfect_records(wins: int, seed: int = 0):
    """A league: 0 wins all its ``wins`` games, 5 loses all, 1..4 mix; 6 has one game."""
    rng = np.random.default_rng(seed)
    weak = rng.integers(1, 5, (3, wins))
    a_mid = rng.integers(1, 5, 4 * wins)
    b_mid = (a_mid - 1 + rng.integers(1, 4, 4 * wins)) % 4 + 1
    a = np.concatenate([np.zeros(wins, int), a_mid, np.full(wins, 5), [6]])
    b = np.concatenate([weak[0], b_mid, weak[1], [1]])
    s = np.concatenate([np.ones(wins), rng.choice([0.0, 0.5, 1.0], 4 * wins),
                        np.zeros(wins), [1.0]])
    return a, b, s


@pytest.mark.parametrize("bootstrap", [0, 100])
def test_bt_perfect_records_and_single_games_are_not_certain(bootstrap: int) -> None:
    # The old percentile bootstrap gave the 22-0 player an interval like 1826..1826.
    fit = fit_bradley_terry(*_perfect_records(22), 7, bootstrap=bootstrap)
    width = fit.ci_high - fit.ci_low
    for player in (0, 5, 6):  # all wins, all losses, one game
        assert width[player] > 150.0
        assert fit.ci_low[player] < fit.rating[player] < fit.ci_high[player]
    assert np.all(width > 0.0)
    assert fit.rating[0] == fit.rating.max() and fit.rating[5] == fit.rating.min()


@pytest.mark.parametrize("bootstrap", [0, 100])
def test_bt_perfect_record_raises_its_lower_bound_as_wins_grow(bootstrap: int) -> None:
    fits = [fit_bradley_terry(*_perfect_records(wins), 7, bootstrap=bootstrap)
            for wins in (22, 88, 352)]
    lows = [fit.ci_low[0] for fit in fits]
    highs = [fit.ci_high[5] for fit in fits]
    assert lows[0] < lows[1] < lows[2]  # more wins: surely stronger
    assert highs[0] > highs[1] > highs[2]  # more losses: surely weaker
    # A perfect record only bounds strength from one side: the width stays open, never 0.
    assert all(fit.ci_high[0] - fit.ci_low[0] > 150.0 for fit in fits)


@pytest.mark.parametrize("bootstrap", [0, 100])
def test_bt_interval_widths_shrink_as_games_grow(bootstrap: int) -> None:
    rng = np.random.default_rng(12)
    true = rng.normal(1500.0, 200.0, 8)
    a, b, s = _simulate(rng, true, 8000, draws=0.1)
    widths = []
    for games in (4, 40, 400, 4000):  # the first has players with 0 or 1 game
        fit = fit_bradley_terry(a[:games], b[:games], s[:games], 8, bootstrap=bootstrap)
        assert np.all(fit.ci_low < fit.rating) and np.all(fit.rating < fit.ci_high)
        widths.append(fit.ci_high - fit.ci_low)
    for fewer, more in itertools.pairwise(widths):
        assert np.all(more < fewer)
    assert widths[-1].mean() < 0.5 * widths[-2].mean()  # 10x the games: about 1/sqrt(10)


def _league(seed: int, players: int = 60, games_each: int = 40):
    """Random pairings in a league of true ratings ~ N(1500, 200^2); the truth centred."""
    rng = np.random.default_rng(seed)
    true = rng.normal(1500.0, 200.0, players)
    a, b, s = _simulate(rng, true, players * games_each // 2)
    return a, b, s, _centred(true)


@pytest.mark.parametrize("bootstrap", [0, 100])
def test_bt_95_percent_intervals_cover_the_truth_about_95_percent(bootstrap: int) -> None:
    covered = []
    for seed in range(6):
        a, b, s, truth = _league(seed)
        fit = fit_bradley_terry(a, b, s, len(truth), bootstrap=bootstrap, seed=seed)
        covered.extend((fit.ci_low <= truth) & (truth <= fit.ci_high))
    assert len(covered) == 360
    assert 0.90 <= np.mean(covered) <= 0.99  # 0.955 (Laplace) and 0.958 over 100 leagues


def _season(seed: int, players: int = 60, ticks: int = 100):
    """A season of the arena's own matchmaking (``pair`` on live Elo, 2-game duels) among
    agents with true ratings ~ N(1500, 300^2); the games and the truth centred."""
    rng = np.random.default_rng(seed)
    true = rng.normal(1500.0, 300.0, players)
    elo, played = [1500.0] * players, [0] * players
    waited, recent = [0] * players, [[] for _ in range(players)]
    games = []
    for tick in range(ticks):
        waiting = [Candidate(id=k, owner=f"owner{k}", rating=elo[k], games=played[k],
                             waited_ticks=waited[k], recent_opponents=tuple(recent[k][:3]))
                   for k in range(players)]
        pairs = pair(waiting, MatchmakingConfig(), tick=tick, seed=seed * 1000 + tick)
        for chooser, opponent in pairs:
            for x, y in ((chooser, opponent), (opponent, chooser)):
                s = float(rng.random() < expected_score(true[x], true[y]))
                elo[x], elo[y] = elo_update(elo[x], elo[y], s, played[x], played[y])
                played[x], played[y] = played[x] + 1, played[y] + 1
                games.append((x, y, s))
            recent[chooser].insert(0, opponent)
            recent[opponent].insert(0, chooser)
        busy = {k for match in pairs for k in match}
        waited = [0 if k in busy else waited[k] + 1 for k in range(players)]
    a, b, s = (np.array(column) for column in zip(*games, strict=True))
    return a, b, s, _centred(true)


def test_bt_intervals_cover_the_truth_under_the_arenas_own_matchmaking() -> None:
    """Pairings that follow the observed ratings (a long ladder of near neighbours) keep the
    default prior's intervals close to honest: 0.918 here, against 0.872 for a prior three times
    weaker and 0.408 for one ten times stronger. (Pairings by the *true* strengths, which no
    arena can make, would break any independent prior: the design then carries information that
    the fit ignores.)"""
    covered = []
    for seed in range(10):
        a, b, s, truth = _season(seed)
        fit = fit_bradley_terry(a, b, s, len(truth))
        covered.extend((fit.ci_low <= truth) & (truth <= fit.ci_high))
    assert len(covered) == 600
    assert 0.90 <= np.mean(covered) <= 0.99


def test_bt_large_league_approximation_matches_the_exact_laplace(monkeypatch) -> None:
    a, b, s, _ = _league(20, players=120, games_each=60)
    exact = fit_bradley_terry(a, b, s, 120, bootstrap=0)
    # Pretend 120 players is a large league: the MM fit and the Neumann-series covariance.
    monkeypatch.setattr(ratings, "_NEWTON_MAX_PLAYERS", 60)
    approx = fit_bradley_terry(a, b, s, 120, bootstrap=0)
    anchored = fit_bradley_terry(a, b, s, 120, bootstrap=0, anchor=7)
    monkeypatch.undo()
    exact_anchored = fit_bradley_terry(a, b, s, 120, bootstrap=0, anchor=7)
    ratio = (approx.ci_high - approx.ci_low) / (exact.ci_high - exact.ci_low)
    assert np.abs(approx.rating - exact.rating).max() < 0.01
    assert np.all((ratio > 0.98) & (ratio < 1.02))
    others = np.arange(120) != 7
    ratio = ((anchored.ci_high - anchored.ci_low)[others]
             / (exact_anchored.ci_high - exact_anchored.ci_low)[others])
    assert np.all((ratio > 0.98) & (ratio < 1.02))


def test_bt_anchor_is_exact_and_bootstrap_needs_rounds() -> None:
    a, b, s, _ = _league(21, players=10)
    fit = fit_bradley_terry(a, b, s, 10, anchor=3)
    width = fit.ci_high - fit.ci_low
    assert width[3] == pytest.approx(0.0, abs=1e-6)  # the anchor defines the scale
    assert np.all(np.delete(width, 3) > 0.0)
    for rounds in (-1, 1, 9):
        with pytest.raises(ValueError, match="bootstrap"):
            fit_bradley_terry(a, b, s, 10, bootstrap=rounds)
    assert fit_bradley_terry(a, b, s, 10, bootstrap=10).bootstrap == 10


def test_ratings_module_is_pure() -> None:
    code = (
        "import sys, rl_arena_app.core.ratings; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'scipy', 'pandas', 'reflex', 'redis', 'docker', 'sqlalchemy'}]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
