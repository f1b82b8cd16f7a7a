"""Routing on the real queue: match jobs carry their agents' images, and a worker takes the one
it has warm off the matches queue ahead of the head, exactly once."""

from __future__ import annotations

from jobs.routing import queued_matches, take_warm_match
from rl_arena_app.broker import MATCHES, get_queue, match_job_id
from rl_arena_app.db.models import MatchStatus
from rl_arena_app.services.matches.queue import enqueue_match
from tests.support.factory import make_match, make_submission


def queued(*pairs: tuple[str, str]) -> list[int]:
    """A queued, enqueued match per pair of images."""
    ids = []
    for n, images in enumerate(pairs):
        a, b = (make_submission(f"{img}{n}@example.org", f"bot{n}{side}", image=img)
                for side, img in enumerate(images))
        ids.append(make_match(a, b, status=MatchStatus.QUEUED, attempts=0))
        enqueue_match(ids[-1], 0)
    return ids


def test_match_jobs_carry_their_agents_images(platform):
    queued(("img:a", "img:b"), ("img:c", "img:d"))
    waiting = queued_matches(get_queue(MATCHES))
    assert [set(w.keys) for w in waiting] == [{"img:a", "img:b"}, {"img:c", "img:d"}]
    assert waiting[0].queued_at <= waiting[1].queued_at


def test_a_worker_takes_its_warm_match_once_and_leaves_the_rest_in_order(platform):
    first, second, third = queued(("img:a", "img:b"), ("img:c", "img:x"), ("img:c", "img:d"))
    queue = get_queue(MATCHES)
    job = take_warm_match(queue, warm={"img:c", "img:d"})
    assert job is not None and job.id == match_job_id(third, 0)
    assert queue.job_ids == [match_job_id(first, 0), match_job_id(second, 0)]
    assert take_warm_match(queue, warm={"img:d"}) is None  # taken: nothing warm is left
    assert take_warm_match(queue, warm={"img:a"}) is None  # the head itself: RQ takes it
    assert queue.job_ids == [match_job_id(first, 0), match_job_id(second, 0)]
