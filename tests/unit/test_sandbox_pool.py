"""The warm sandbox pool's bookkeeping: exclusive leases, least recently used out first, broken
hosts never reused (hosts here are stand-ins that only record being started and closed)."""

from __future__ import annotations

import os

import pytest

from jobs.sandbox import pool as pool_module
from jobs.sandbox.pool import SandboxPool, shared_pool


class StandIn:
    """A host that only records its life."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.broken = False
        self.started = self.closed = False
        self.last_used = 0.0

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True


def lease(pool: SandboxPool, key: str, made: list[StandIn]) -> StandIn:
    def new() -> StandIn:
        made.append(StandIn(key))
        made[-1].last_used = pool_module.time.monotonic()
        return made[-1]

    return pool.lease(key, new)  # type: ignore[arg-type, return-value]


def test_a_given_back_host_serves_the_next_lease_of_its_key():
    pool, made = SandboxPool(4), []
    first = lease(pool, "a", made)
    pool.give_back(first)  # type: ignore[arg-type]
    assert lease(pool, "a", made) is first
    assert len(made) == 1 and first.started and not first.closed
    assert pool.stats().hits == 1 and pool.stats().misses == 1
    assert pool.stats().hit_rate == 0.5


def test_leases_are_exclusive():
    pool, made = SandboxPool(4), []
    one, two = lease(pool, "a", made), lease(pool, "a", made)
    assert one is not two and len(made) == 2


def test_the_least_recently_used_idle_host_goes_first():
    pool, made = SandboxPool(2), []
    a, b = lease(pool, "a", made), lease(pool, "b", made)
    pool.give_back(a)  # type: ignore[arg-type]
    pool.give_back(b)  # type: ignore[arg-type]
    lease(pool, "c", made)  # over capacity: a, the older, is closed
    assert a.closed and not b.closed
    assert pool.keys() == {"b"}
    assert pool.idle_hosts() == [b]


def test_broken_hosts_are_closed_never_reused():
    pool, made = SandboxPool(4), []
    host = lease(pool, "a", made)
    host.broken = True
    pool.give_back(host)  # type: ignore[arg-type]
    assert host.closed
    assert lease(pool, "a", made) is not host


def test_a_fresh_lease_skips_idle_hosts():
    pool, made = SandboxPool(4), []
    host = lease(pool, "a", made)
    pool.give_back(host)  # type: ignore[arg-type]
    assert pool.lease("a", lambda: StandIn("a"), fresh=True) is not host  # type: ignore[arg-type]


def test_idle_hosts_past_the_idle_limit_are_closed(monkeypatch):
    pool, made = SandboxPool(4), []
    host = lease(pool, "a", made)
    host.last_used -= pool_module.IDLE_LIMIT_S + 1
    pool.give_back(host)  # type: ignore[arg-type]
    assert host.closed


def test_low_memory_evicts_idle_hosts(monkeypatch):
    pool, made = SandboxPool(4, min_free_mb=1024), []
    host = lease(pool, "a", made)
    monkeypatch.setattr(pool_module, "available_memory_mb", lambda: 100)
    pool.give_back(host)  # type: ignore[arg-type]
    assert host.closed


def test_retain_closes_idle_hosts_of_retired_keys():
    pool, made = SandboxPool(4), []
    a, b = lease(pool, "a", made), lease(pool, "b", made)
    pool.give_back(a)  # type: ignore[arg-type]
    pool.give_back(b)  # type: ignore[arg-type]
    assert pool.retain(lambda key: key == "b") == 1
    assert a.closed and not b.closed


def test_closing_the_pool_closes_idle_hosts_now_and_leased_ones_when_given_back():
    pool, made = SandboxPool(4), []
    idle, leased = lease(pool, "a", made), lease(pool, "b", made)
    pool.give_back(idle)  # type: ignore[arg-type]
    pool.close_all()
    assert idle.closed and not leased.closed
    pool.give_back(leased)  # type: ignore[arg-type]
    assert leased.closed


def test_no_warm_pool_when_off_or_in_a_forked_child():
    assert shared_pool("process", 0, 0) is None
    assert shared_pool("process", 2, 0) is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports whether it got a pool
        os.write(write, b"none" if shared_pool("process", 2, 0) is None else b"pool")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 4) == b"none"
    pool_module.close_pools()


@pytest.mark.parametrize("capacity", [1, 3])
def test_capacity_bounds_what_the_pool_keeps(capacity):
    pool, made = SandboxPool(capacity), []
    hosts = [lease(pool, k, made) for k in "abcd"]
    for host in hosts:
        pool.give_back(host)  # type: ignore[arg-type]
    assert sum(not h.closed for h in hosts) == capacity
