"""Matchmaking: windows, starvation, owner/recent/cap rules, priority, determinism, speed."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_arena_app.core.matchmaking import (
    Candidate,
    MatchmakingConfig,
    eligible,
    is_starving,
    pair,
    takes_any_distance,
    window,
)

CFG = MatchmakingConfig()


def cand(id: int, rating: float, **kw) -> Candidate:
    """A settled (non-provisional), fresh candidate with its own owner unless told otherwise."""
    kw.setdefault("owner", f"user{id}")
    kw.setdefault("games", 50)
    kw.setdefault("waited_ticks", 0)
    return Candidate(id=id, rating=rating, **kw)


def run(cands: list[Candidate], config: MatchmakingConfig = CFG, *, tick: int = 0,
        seed: int = 0) -> list[tuple[int, int]]:
    """``pair`` with defaults."""
    return pair(cands, config, tick=tick, seed=seed)


def as_sets(pairs: list[tuple[int, int]]) -> set[frozenset[int]]:
    """Pairs without orientation or order."""
    return {frozenset(p) for p in pairs}


# ------------------------------------------------------------------------------ windows


def test_window_formula_and_cap() -> None:
    assert window(cand(1, 1500), CFG) == 100
    assert window(cand(1, 1500, waited_ticks=3), CFG) == 250
    assert window(cand(1, 1500, waited_ticks=8), CFG) == 500
    assert window(cand(1, 1500, waited_ticks=9), CFG) == 500


def test_window_bound_is_inclusive() -> None:
    assert run([cand(1, 1500), cand(2, 1600)]) != []
    assert run([cand(1, 1500), cand(2, 1600.5)]) == []


def test_window_widens_with_waiting() -> None:
    far = [cand(1, 1500, waited_ticks=2), cand(2, 1700, waited_ticks=2)]  # both ±200
    assert as_sets(run(far)) == {frozenset({1, 2})}
    assert run([dataclasses.replace(c, waited_ticks=1) for c in far]) == []


def test_each_side_must_be_inside_the_others_window() -> None:
    # 1 waited long (±250) but 2 is fresh (±100): 200 apart is too far for 2.
    assert run([cand(1, 1500, waited_ticks=3), cand(2, 1700)]) == []
    assert run([cand(1, 1500, waited_ticks=3), cand(2, 1700, waited_ticks=2)]) != []


def test_window_is_capped_at_max_window() -> None:
    config = MatchmakingConfig(starvation_ticks=100)
    long_wait = {"waited_ticks": 50}  # 100 + 50 * 50 would be ±2600 without the cap
    assert run([cand(1, 1500, **long_wait), cand(2, 2000, **long_wait)], config) != []
    assert run([cand(1, 1500, **long_wait), cand(2, 2001, **long_wait)], config) == []


def test_picks_the_nearest_rating_in_window() -> None:
    cands = [cand(1, 1500, waited_ticks=1), cand(2, 1580), cand(3, 1430), cand(4, 1460)]
    assert run(cands)[0] == (1, 4)


# --------------------------------------------------------------------------- starvation


def test_starving_candidate_gets_the_nearest_opponent_at_any_distance() -> None:
    starving = cand(1, 1500, waited_ticks=10)
    assert is_starving(starving, CFG)
    assert run([starving, cand(2, 4000), cand(3, 5000)]) == [(1, 2)]
    assert run([starving, cand(2, 0), cand(3, 5000)]) == [(1, 2)]
    assert run([dataclasses.replace(starving, waited_ticks=9), cand(2, 4000)]) == []


def test_an_unrated_candidate_is_matched_at_any_distance() -> None:
    """A new submission's 1500 is only a prior: windows do not keep it waiting."""
    newcomer = cand(1, 1500, games=0)
    assert takes_any_distance(newcomer, CFG) and not is_starving(newcomer, CFG)
    assert run([newcomer, cand(2, 1900), cand(3, 2400)]) == [(1, 2)]
    settled = dataclasses.replace(newcomer, games=1)
    assert run([settled, cand(2, 1900), cand(3, 2400)]) == []


def test_starving_candidates_choose_first() -> None:
    # 3 is starving and nearest to 2; 1 waited almost as long and is nearer to 2 than 3 is.
    cands = [cand(1, 1500, waited_ticks=9, games=0), cand(2, 1520), cand(3, 1560, waited_ticks=10)]
    assert run(cands) == [(3, 2)]


# ------------------------------------------------------------------------------- owners


def test_never_two_agents_of_the_same_owner() -> None:
    assert run([cand(1, 1500, owner="ann"), cand(2, 1510, owner="ann")]) == []
    starving = {"waited_ticks": 20}
    assert run([cand(1, 1500, owner="ann", **starving), cand(2, 1510, owner="ann")]) == []
    pairs = run([cand(1, 1500, owner="ann"), cand(2, 1510, owner="ann"), cand(3, 1550)])
    assert len(pairs) == 1
    assert 3 in pairs[0]


def test_house_agents_are_exempt_from_the_owner_rule() -> None:
    # Whichever side chooses (the one that waited longer), the pair is allowed.
    first = {"owner": "ann", "waited_ticks": 1}
    assert run([cand(1, 1500, house=True, **first), cand(2, 1510, owner="ann")]) == [(1, 2)]
    assert run([cand(1, 1500, **first), cand(2, 1510, owner="ann", house=True)]) == [(1, 2)]
    assert run([cand(1, 1500, owner="h", house=True), cand(2, 1510, owner="h", house=True)]) != []


# ------------------------------------------------------------------------------- recent


def test_recent_opponents_are_avoided_when_another_is_eligible() -> None:
    # 1 chooses first (waited longer); 2 is nearer but was one of its last opponents.
    cands = [cand(1, 1500, waited_ticks=1, recent_opponents=(9, 2)), cand(2, 1510), cand(3, 1550)]
    assert run(cands) == [(1, 3)]
    # Avoidance is mutual: 2 remembers 1.
    cands = [cand(1, 1500, waited_ticks=1), cand(2, 1510, recent_opponents=(1,)), cand(3, 1550)]
    assert run(cands) == [(1, 3)]


def test_only_the_last_avoid_recent_opponents_count() -> None:
    old = cand(1, 1500, waited_ticks=1, recent_opponents=(7, 8, 9, 2))
    assert run([old, cand(2, 1510), cand(3, 1550)]) == [(1, 2)]
    assert run([old, cand(2, 1510), cand(3, 1550)], MatchmakingConfig(avoid_recent=4)) == [(1, 3)]
    assert run([dataclasses.replace(old, recent_opponents=(2,)), cand(2, 1510)],
               MatchmakingConfig(avoid_recent=0)) == [(1, 2)]


def test_a_recent_opponent_is_taken_when_no_other_is_eligible() -> None:
    assert run([cand(1, 1500, recent_opponents=(2,)), cand(2, 1510)]) == [(1, 2)]
    # 3 is out of 1's window, so the recent 2 is the only eligible opponent.
    assert run([cand(1, 1500, waited_ticks=1, recent_opponents=(2,)), cand(2, 1510),
                cand(3, 1900)]) == [(1, 2)]
    # Still no pair outside the windows: recency never widens them.
    assert run([cand(1, 1500, recent_opponents=(2,)), cand(2, 1700)]) == []


def test_starving_candidate_prefers_a_far_non_recent_opponent() -> None:
    starving = cand(1, 1500, waited_ticks=10, recent_opponents=(2, 3))
    assert run([starving, cand(2, 1510), cand(3, 1490), cand(4, 3000)])[0] == (1, 4)
    assert run([starving, cand(2, 1510), cand(3, 1495)]) == [(1, 3)]  # nearest recent


# --------------------------------------------------------------------------------- caps


def test_open_match_cap() -> None:
    busy = cand(1, 1500, open_matches=1)
    assert run([busy, cand(2, 1510)]) == []
    assert run([busy, cand(2, 1510)], MatchmakingConfig(max_open_per_submission=2)) != []
    assert eligible([busy], CFG, 0) == []


def test_cooldown() -> None:
    cooling = cand(1, 1500, cooldown_until_tick=5)
    assert run([cooling, cand(2, 1510)], tick=4) == []
    assert run([cooling, cand(2, 1510)], tick=5) != []


def test_daily_cap_counts_played_and_open_matches() -> None:
    config = MatchmakingConfig(daily_cap=3, max_open_per_submission=2)
    assert run([cand(1, 1500, games_today=3), cand(2, 1510)], config) == []
    assert run([cand(1, 1500, games_today=2), cand(2, 1510)], config) != []
    assert run([cand(1, 1500, games_today=2, open_matches=1), cand(2, 1510)], config) == []
    assert run([cand(1, 1500, games_today=99), cand(2, 1510)]) != []  # no cap by default


def test_queue_full_stops_adding_matches() -> None:
    cands = [cand(i, 1500 + 1000 * (i // 2) + i % 2) for i in range(6)]  # three close pairs
    assert len(run(cands)) == 3
    assert len(run(cands, MatchmakingConfig(max_new_matches=2))) == 2
    assert run(cands, MatchmakingConfig(max_new_matches=0)) == []


# ----------------------------------------------------------------------------- priority


def test_provisional_before_longer_waiting() -> None:
    # 3 (provisional) and 1 (waited longer) both want 2; the one choosing first gets it.
    cands = [cand(1, 1470, waited_ticks=1), cand(2, 1500), cand(3, 1540, games=0)]
    assert run(cands) == [(3, 2)]
    settled = dataclasses.replace(cands[2], games=10)
    assert run([*cands[:2], settled]) == [(1, 2)]
    assert run([*cands[:2], settled], MatchmakingConfig(provisional_games=11)) == [(3, 2)]


def test_longest_waiting_chooses_first() -> None:
    cands = [cand(1, 1470, waited_ticks=1), cand(2, 1500), cand(3, 1540, waited_ticks=2)]
    assert run(cands) == [(3, 2)]


# ------------------------------------------------------------------------- determinism


def test_same_seed_same_pairs_in_any_input_order() -> None:
    rng = random.Random(1)
    cands = [cand(i, rng.choice([1500, 1520, 1550]), owner=f"u{i % 5}",
                  waited_ticks=rng.randrange(3)) for i in range(40)]
    first = run(cands, seed=7)
    for _ in range(5):
        rng.shuffle(cands)
        assert run(cands, seed=7) == first


def test_different_seeds_break_ties_differently() -> None:
    cands = [cand(i, 1500) for i in range(6)]
    outcomes = {frozenset(as_sets(run(cands, seed=seed))) for seed in range(30)}
    assert len(outcomes) > 1
    # Equal distance on both sides: either neighbour, depending on the seed.
    trio = [cand(1, 1500, waited_ticks=1), cand(2, 1450), cand(3, 1550)]
    assert {run(trio, seed=seed)[0] for seed in range(30)} == {(1, 2), (1, 3)}


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="unique"):
        run([cand(1, 1500), cand(1, 1510)])
    with pytest.raises(ValueError, match="finite"):
        run([cand(1, float("nan")), cand(2, 1510)])
    with pytest.raises(ValueError):
        MatchmakingConfig(base_window=-1)
    with pytest.raises(ValueError):
        MatchmakingConfig(max_new_matches=-1)


def test_empty_and_single() -> None:
    assert run([]) == []
    assert run([cand(1, 1500, waited_ticks=99)]) == []


@pytest.mark.timeout(60)
def test_ten_thousand_candidates_follow_the_rules() -> None:
    """Speed is in bench/matchmaking_bench.py; here a big tick must still obey every rule."""
    rng = random.Random(3)
    cands = [cand(i, rng.gauss(1500, 300), owner=f"u{rng.randrange(3000)}",
                  waited_ticks=rng.randrange(15), games=rng.randrange(30)) for i in range(10_000)]
    pairs = run(cands)
    assert len(pairs) > 4000
    used = [i for p in pairs for i in p]
    assert len(used) == len(set(used))


@pytest.mark.timeout(60)
def test_one_big_owner_of_starving_agents_is_paired_with_everyone_else() -> None:
    """Thousands of one owner's starving agents skip their siblings instead of rescanning them."""
    big = [cand(i, 1500 + (i % 7), owner="big", waited_ticks=20) for i in range(3000)]
    others = [cand(10_000 + i, 300.0 * i) for i in range(500)]  # too far apart to pair
    pairs = run(big + others)
    assert len(pairs) == 500
    assert all(min(p) < 10_000 <= max(p) for p in pairs)


# ---------------------------------------------------------------- properties (hypothesis)


def recent_pair(a: Candidate, b: Candidate, config: MatchmakingConfig) -> bool:
    """Whether either side is among the other's last ``avoid_recent`` opponents."""
    n = config.avoid_recent
    return b.id in a.recent_opponents[:n] or a.id in b.recent_opponents[:n]


def owners_ok(a: Candidate, b: Candidate) -> bool:
    """The owner rule: different owners, or a house agent on either side."""
    return a.house or b.house or a.owner != b.owner


def fits(a: Candidate, b: Candidate, config: MatchmakingConfig) -> bool:
    """Whether a pair is allowed by owners and windows (each side's waived when it is starving
    or unrated)."""
    d = abs(a.rating - b.rating)
    return owners_ok(a, b) and all(d <= window(x, config) or takes_any_distance(x, config)
                                   for x in (a, b))


def may_play(c: Candidate, config: MatchmakingConfig, tick: int) -> bool:
    """Caps written out independently of ``eligible``."""
    if c.open_matches + 1 > config.max_open_per_submission:
        return False
    if c.cooldown_until_tick is not None and tick < c.cooldown_until_tick:
        return False
    cap = config.daily_cap
    return cap is None or c.games_today + c.open_matches + 1 <= cap


def priority(c: Candidate, config: MatchmakingConfig) -> tuple[bool, bool, int]:
    """Smaller chooses first (before the seeded tie-break)."""
    return (not is_starving(c, config), c.games >= config.provisional_games, -c.waited_ticks)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Candidate], MatchmakingConfig, int]:
    """Small random populations (many rating ties, few owners) and configs."""
    n = draw(st.integers(0, 30))
    ids = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n, unique=True))
    cands = [
        Candidate(
            id=i,
            owner=draw(st.sampled_from("abcd")),
            rating=draw(st.integers(1200, 1800).map(float) | st.floats(0, 3000)),
            games=draw(st.integers(0, 20)),
            waited_ticks=draw(st.integers(0, 14)),
            recent_opponents=tuple(draw(st.lists(st.sampled_from(ids), max_size=4))),
            open_matches=draw(st.integers(0, 2)),
            house=draw(st.booleans()),
            cooldown_until_tick=draw(st.none() | st.integers(0, 10)),
            games_today=draw(st.integers(0, 6)),
        )
        for i in ids
    ]
    config = MatchmakingConfig(
        base_window=draw(st.floats(0, 300)),
        widen_per_tick=draw(st.floats(0, 100)),
        max_window=draw(st.floats(0, 800)),
        starvation_ticks=draw(st.integers(0, 15)),
        avoid_recent=draw(st.integers(0, 3)),
        max_open_per_submission=draw(st.integers(1, 2)),
        daily_cap=draw(st.none() | st.integers(1, 6)),
        provisional_games=draw(st.integers(0, 15)),
        max_new_matches=draw(st.none() | st.integers(0, 8)),
    )
    return cands, config, draw(st.integers(0, 10))


def preference(a: Candidate, c: Candidate, config: MatchmakingConfig) -> tuple | None:
    """How chooser ``a`` ranks opponent ``c`` (smaller is better), None when not allowed."""
    if not owners_ok(a, c):
        return None
    d = abs(a.rating - c.rating)
    if takes_any_distance(a, config) or fits(a, c, config):  # recent ones only as a last resort
        return (recent_pair(a, c, config), d)
    return None


def check_rules(cands: list[Candidate], config: MatchmakingConfig, tick: int,
                pairs: list[tuple[int, int]]) -> None:
    """Caps, owners, windows, recents; nearest choice in priority order; no missed match."""
    by_id = {c.id: c for c in cands}
    used = [i for p in pairs for i in p]
    assert len(used) == len(set(used)), "a submission twice in one tick"
    if config.max_new_matches is not None:
        assert len(pairs) <= config.max_new_matches
    free = {c.id for c in cands if may_play(c, config, tick)}
    previous = None
    for a_id, b_id in pairs:
        a, b = by_id[a_id], by_id[b_id]
        assert a_id in free and b_id in free  # caps, cooldown, daily cap; not used before
        assert owners_ok(a, b)
        if not (takes_any_distance(a, config) or takes_any_distance(b, config)):
            assert fits(a, b, config)
        assert previous is None or priority(a, config) >= previous, "chosen out of priority"
        previous = priority(a, config)
        free -= {a_id, b_id}
        options = [pref for i in free if (pref := preference(a, by_id[i], config))]
        assert preference(a, b, config) <= min(options, default=(True, math.inf)), "not nearest"
    if config.max_new_matches is None or len(pairs) < config.max_new_matches:
        left = [by_id[i] for i in free]
        for x in left:
            assert not any(preference(x, y, config) for y in left if y is not x), "missed a match"


@settings(max_examples=250, deadline=None)
@given(scenarios(), st.integers(0, 2**32))
def test_pairs_respect_every_rule(scenario, seed: int) -> None:
    cands, config, tick = scenario
    check_rules(cands, config, tick, pair(cands, config, tick=tick, seed=seed))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32), st.integers(50, 400), st.integers(1, 8))
def test_rules_hold_on_larger_populations(seed: int, n: int, n_owners: int) -> None:
    """Few owners, many rating ties and long searches: exercises the free list and skips."""
    rng = random.Random(seed)
    cands = [
        Candidate(
            id=i,
            owner=f"u{rng.randrange(n_owners)}",
            rating=rng.choice([float(rng.randrange(1400, 1600, 20)), rng.gauss(1500, 250)]),
            games=rng.randrange(20),
            waited_ticks=rng.randrange(14),
            recent_opponents=tuple(rng.randrange(n) for _ in range(rng.randrange(5))),
            open_matches=int(rng.random() < 0.1),
            house=rng.random() < 0.05,
            cooldown_until_tick=rng.choice([None, None, 3, 8]),
            games_today=rng.randrange(6),
        )
        for i in range(n)
    ]
    config = MatchmakingConfig(
        base_window=rng.choice([0.0, 50.0, 100.0]),
        widen_per_tick=rng.choice([0.0, 25.0, 50.0]),
        starvation_ticks=rng.randrange(1, 16),
        avoid_recent=rng.randrange(4),
        daily_cap=rng.choice([None, 5]),
    )
    check_rules(cands, config, 5, pair(cands, config, tick=5, seed=seed))


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.integers(0, 2**32), st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_input_order(scenario, seed, shuffler) -> None:
    cands, config, tick = scenario
    first = pair(cands, config, tick=tick, seed=seed)
    shuffled = list(cands)
    shuffler.shuffle(shuffled)
    assert pair(shuffled, config, tick=tick, seed=seed) == first


@settings(max_examples=60, deadline=None)
@given(
    cluster=st.lists(st.integers(1400, 1480), min_size=6, max_size=30),
    offset=st.floats(600, 5000) | st.floats(-5000, -600),
    starvation=st.integers(2, 10),
    seed=st.integers(0, 2**32),
)
def test_no_starvation_for_an_isolated_candidate(cluster, offset, starvation, seed) -> None:
    """A candidate far from everyone is matched within starvation_ticks + 1 ticks, every time."""
    config = MatchmakingConfig(starvation_ticks=starvation)
    lonely = Candidate(id=0, owner="lonely", rating=1440 + offset, games=0, waited_ticks=0)
    pop = {0: lonely} | {
        i: Candidate(id=i, owner=f"user{i}", rating=float(r), games=0, waited_ticks=0)
        for i, r in enumerate(cluster, start=1)
    }
    matched_at = []
    for tick in range(3 * (starvation + 1)):
        pairs = pair(list(pop.values()), config, tick=tick, seed=seed + tick)
        opponent = dict(pairs) | {b: a for a, b in pairs}
        if 0 in opponent:
            matched_at.append(tick)
        for i, c in pop.items():
            if i in opponent:
                pop[i] = dataclasses.replace(
                    c, games=c.games + 1, waited_ticks=0,
                    recent_opponents=(opponent[i], *c.recent_opponents)[:5])
            else:
                pop[i] = dataclasses.replace(c, waited_ticks=c.waited_ticks + 1)
    gaps = [b - a for a, b in zip([-1, *matched_at], matched_at, strict=False)]
    assert len(matched_at) >= 3
    assert max(gaps) <= starvation + 1
