"""The warm sandboxes a process keeps: least recently used first out, bounded by count and memory.

One pool per kind of sandbox and per process. A forked child starts without pools, so it never
touches its parent's sandboxes and plays in cold ones (RQ's build horses are spawned, not forked:
they close their pool when their job ends). The pools close their sandboxes when the process
exits (Ctrl-C included); a killed process leaves its containers to the next orphan sweep.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from rl_arena_app.services import metrics

from .warm import WarmHost

# Idle sandboxes unused this long are closed at the next lease or release.
IDLE_LIMIT_S = 600.0


@dataclass(frozen=True)
class PoolStats:
    """What a pool holds and how often a lease found a warm sandbox."""

    hits: int
    misses: int
    idle: int
    busy: int

    @property
    def hit_rate(self) -> float | None:
        """Share of leases served by an idle warm sandbox (None before any lease)."""
        leases = self.hits + self.misses
        return self.hits / leases if leases else None


def available_memory_mb() -> int | None:
    """MemAvailable of this machine in MiB (None where /proc/meminfo does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class SandboxPool:
    """Warm hosts by key; each leased to one user at a time, idle ones evicted LRU first."""

    def __init__(self, capacity: int, min_free_mb: int = 0, kind: str | None = None) -> None:
        self.capacity = capacity
        self.kind = kind  # counted in the platform's metrics under this sandbox kind
        self.min_free_mb = min_free_mb
        self._idle: dict[int, WarmHost] = {}  # insertion order is recency: oldest first
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        self._hits = self._misses = 0
        self._closed = False

    def lease(self, key: str, new_host: Callable[[], WarmHost], *, fresh: bool = False
              ) -> WarmHost:
        """An idle host of ``key`` (most recently used), or a new one started now."""
        with self._lock:
            found = None if fresh else self._take_idle(key)
            if found is None:
                self._misses += 1
                evicted = self._evict(room_for=1)
        if found is not None:
            if self.kind:
                metrics.count("rl_arena_sandbox_starts_total", kind=self.kind, warm="true")
            return found
        _close(evicted)
        host = new_host()
        with self._lock:
            self._busy.add(id(host))
        try:
            host.start()
        except BaseException:
            self.give_back(host, broken=True)
            raise
        return host

    def _take_idle(self, key: str) -> WarmHost | None:
        """Lease the most recently used idle host of ``key`` (lock held)."""
        for ident, host in reversed(self._idle.items()):
            if host.key == key:
                del self._idle[ident]
                self._busy.add(ident)
                self._hits += 1
                return host
        return None

    def give_back(self, host: WarmHost, *, broken: bool = False) -> None:
        """Return a leased host: idle for its next use, or closed if broken or over the bounds."""
        host.broken = host.broken or broken
        with self._lock:
            self._busy.discard(id(host))
            keep = not host.broken and not self._closed and self.capacity > 0
            if keep:
                self._idle[id(host)] = host
            evicted = self._evict(room_for=0)
        if not keep:
            _close([host])
        _close(evicted)

    def _evict(self, room_for: int) -> list[WarmHost]:
        """Idle hosts to close so the pool fits its bounds with ``room_for`` more (lock held)."""
        evicted = []
        now = time.monotonic()
        for ident, host in list(self._idle.items()):
            if now - host.last_used > IDLE_LIMIT_S:
                evicted.append(self._idle.pop(ident))
        while self._idle and (len(self._idle) + len(self._busy) + room_for > self.capacity
                              or self._memory_low()):
            evicted.append(self._idle.pop(next(iter(self._idle))))
        return evicted

    def _memory_low(self) -> bool:
        free = available_memory_mb() if self.min_free_mb else None
        return free is not None and free < self.min_free_mb

    def retain(self, keep: Callable[[str], bool]) -> int:
        """Close the idle hosts whose key ``keep`` rejects (retired or rebuilt versions)."""
        with self._lock:
            gone = [self._idle.pop(i) for i, h in list(self._idle.items()) if not keep(h.key)]
        _close(gone)
        return len(gone)

    def idle_hosts(self) -> list[WarmHost]:
        """The idle hosts, least recently used first."""
        with self._lock:
            return list(self._idle.values())

    def keys(self) -> set[str]:
        """The keys of every host the pool holds, idle or leased."""
        with self._lock:
            return {h.key for h in self._idle.values()}

    def stats(self) -> PoolStats:
        """Hits, misses and what is held now."""
        with self._lock:
            return PoolStats(self._hits, self._misses, len(self._idle), len(self._busy))

    def close_all(self) -> None:
        """Close every idle host; leased ones close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle.values()), {}
        _close(idle)


def _close(hosts: list[WarmHost]) -> None:
    for host in hosts:
        host.close()


_pools: dict[str, SandboxPool] = {}
_pools_lock = threading.Lock()


def shared_pool(kind: str, capacity: int, min_free_mb: int) -> SandboxPool | None:
    """This process's pool for ``kind`` (None when warm sandboxes are off or in a fork)."""
    if capacity <= 0 or _forked:
        return None
    with _pools_lock:
        pool = _pools.get(kind)
        if pool is None or pool._closed:
            pool = _pools[kind] = SandboxPool(capacity, min_free_mb, kind)
        pool.capacity, pool.min_free_mb = capacity, min_free_mb
        return pool


def pool_of(kind: str) -> SandboxPool | None:
    """This process's pool for ``kind`` if it has one (never making one)."""
    with _pools_lock:
        return _pools.get(kind)


def warm_keys(kind: str) -> set[str]:
    """The keys (images, for Docker) this process holds warm sandboxes of."""
    pool = pool_of(kind)
    return set() if pool is None else pool.keys()


def retain_warm(kind: str, keep: Collection[str]) -> int:
    """Close this process's idle warm sandboxes whose key is not in ``keep``; how many."""
    pool = pool_of(kind)
    return 0 if pool is None else pool.retain(lambda key: key in keep)


def close_pools() -> None:
    """Close every warm sandbox of this process."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close_all()


_forked = False


def _forget_in_child() -> None:
    """A forked child must neither use nor close its parent's sandboxes."""
    global _forked, _pools_lock
    _forked = True
    _pools_lock = threading.Lock()  # another thread may have held it at the fork
    _pools.clear()


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(close_pools)
