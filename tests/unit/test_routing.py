"""A worker prefers queued matches it has warm, and never makes the head of the queue starve."""

from __future__ import annotations

from jobs.routing import Waiting, choose


def queue(*keys: tuple[str, ...], queued_at: tuple[float, ...] = ()) -> list[Waiting]:
    times = queued_at or (0.0,) * len(keys)
    return [Waiting(f"job-{i}", k, t) for i, (k, t) in enumerate(zip(keys, times, strict=True))]


def test_a_match_with_both_agents_warm_beats_one_with_one():
    waiting = queue(("a", "b"), ("c", "x"), ("c", "d"))
    assert choose(waiting, warm={"c", "d"}) == "job-2"


def test_the_earliest_of_equally_warm_matches_goes_first():
    waiting = queue(("a", "b"), ("c", "x"), ("c", "y"))
    assert choose(waiting, warm={"c"}) == "job-1"


def test_the_head_is_taken_when_nothing_is_warm_or_it_is_warm_itself():
    assert choose(queue(("a", "b"), ("c", "d")), warm={"z"}) is None
    assert choose(queue(("a", "b"), ("a", "c")), warm={"a"}) is None
    assert choose(queue(("a", "b")), warm=set()) is None
    assert choose([], warm={"a"}) is None


def test_only_matches_queued_soon_after_the_head_may_overtake_it():
    waiting = queue(("a", "b"), ("c", "x"), ("c", "d"), queued_at=(100.0, 104.0, 106.0))
    assert choose(waiting, warm={"c", "d"}, max_lead_s=5.0) == "job-1"
    assert choose(waiting, warm={"c", "d"}, max_lead_s=10.0) == "job-2"
    assert choose(waiting, warm={"c", "d"}, max_lead_s=2.0) is None
