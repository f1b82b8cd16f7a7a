"""Routing on the real queue: match jobs carry their agents' images, and a worker takes the one
it has warm off the matches queue ahead of the head, exactly once."""

from __future__ import annotations

import time

from jobs.routing import queued_matches, take_warm_match
from jobs.sandbox.pool import shared_pool, warm_keys
from jobs.worker import build_worker
from rl_arena_app.broker import BUILDS, MATCHES, get_queue, match_job_id
from rl_arena_app.db.models import MatchStatus
from rl_arena_app.services.matches.queue import enqueue_match
from rl_arena_app.settings import get_settings
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


class StandIn:
    """A warm host that only holds its key (the worker reads the pool's keys, nothing more)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.broken = False
        self.closed = False
        self.last_used = time.monotonic()

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def hold_warm(*keys: str) -> list[StandIn]:
    """Put idle stand-ins for ``keys`` in this process's Docker pool."""
    pool = shared_pool("docker", 8, 0)
    assert pool is not None
    hosts = [pool.lease(k, lambda k=k: StandIn(k)) for k in keys]  # type: ignore[misc]
    for host in hosts:
        pool.give_back(host)  # type: ignore[arg-type]
    return hosts  # type: ignore[return-value]


def test_the_worker_dequeues_its_warm_match_first_but_builds_before_it(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_SANDBOX", "docker")
    get_settings.cache_clear()
    first, _, warm = queued(("img:a", "img:b"), ("img:x", "img:y"), ("img:c", "img:d"))
    hold_warm("img:c", "img:d")
    worker = build_worker("routing-test")
    worker.register_birth()  # as work() does first
    job, queue = worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert (job.id, queue.name) == (match_job_id(warm, 0), MATCHES)
    get_queue(BUILDS).enqueue("time.sleep", 0)
    job, queue = worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert queue.name == BUILDS
    job, queue = worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert job.id == match_job_id(first, 0)  # nothing warm left: the head, as RQ takes it


def test_the_worker_closes_warm_sandboxes_of_versions_that_no_longer_play(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_SANDBOX", "docker")
    get_settings.cache_clear()
    queued(("img:a", "img:b"))  # both current versions: playable
    kept, gone = hold_warm("img:a", "img:retired")
    worker = build_worker("retain-test")
    worker.register_birth()
    worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert gone.closed and not kept.closed
    assert warm_keys("docker") == {"img:a"}
