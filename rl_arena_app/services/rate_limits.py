"""Rate limits: how often a client may call the API, guess tokens, log in, make tokens, upload.

Each limit is a setting in the `limits` notation, counted by the `limits` library in Redis, so
every web process shares the counts: fixed windows, each starting at a key's first call, so a
refusal's Retry-After is exactly when its window ends (a burst at a window's end and the next
one's start can reach twice the limit, the price of one small key per client). The counts are
keyed by what is limited: a token (by its hash, never the token itself), a client address (an
IPv6 client by its /64, the block one client usually holds) or an account.

Redis down: each process counts in its own memory until Redis answers again (asked again every
REDIS_RETRY_S). The limits then hold per process instead of across processes, and no request
fails because of them: refusing everything (503) would take the read API down with Redis,
which it does not otherwise need, and counting nothing would leave guessing unlimited.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import limits
from limits import RateLimitItem
from limits.aio import storage as async_storage
from limits.aio import strategies as async_strategies
from limits.errors import StorageError

from rl_arena_app.broker import redis_url
from rl_arena_app.errors import LimitExceeded
from rl_arena_app.services.read_models import Account
from rl_arena_app.settings import get_settings

log = logging.getLogger(__name__)

REDIS_TIMEOUT_S = 1.0  # a limit check waits no longer for Redis before counting in memory
REDIS_RETRY_S = 5.0  # after a failure, count in memory this long before asking Redis again
IPV6_BLOCK = 64
KEY_PREFIX = "rl-arena:rate"


@dataclass(frozen=True, slots=True)
class Limit:
    """One rate limit: the setting that sets it, and what it counts (said in a refusal)."""

    setting: str
    counts: str


API_ADDRESS = Limit("rate_limit_api_address", "API requests from your address")
API_TOKEN = Limit("rate_limit_api_token", "API requests with this token")
BAD_TOKEN = Limit("rate_limit_bad_token", "refused API tokens from your address")
LOGIN = Limit("rate_limit_login", "login attempts from your address")
TOKENS = Limit("rate_limit_tokens", "API tokens made by this account")
UPLOADS = Limit("rate_limit_uploads", "uploads by this account")


class RateLimited(LimitExceeded):
    """A rate limit is reached: try again in ``retry_after_s`` seconds (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, datetime.now(UTC) + timedelta(seconds=retry_after_s))
        self.retry_after_s = retry_after_s


# ---------------------------------------------------------------------------------- keys


def address_key(address: str) -> str:
    """A client address as counted: IPv4 as is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"  # not an IP (e.g. a test client's name)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_BLOCK}", strict=False))
    return str(ip)


def token_key(token: str) -> str:
    """A token as counted: a hash, so Redis never holds a token."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def account_key(account: Account) -> str:
    """An account as counted."""
    return f"user-{account.user_id}"


# ---------------------------------------------------------------------------------- rules


@lru_cache(maxsize=64)
def _parse(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(limits.parse_many(text)) if text.strip() else ()


def rules(limit: Limit) -> tuple[RateLimitItem, ...]:
    """The limit's rules from the settings (none: the limit is off)."""
    return _parse(getattr(get_settings(), limit.setting))


def _refusal(limit: Limit, rule: RateLimitItem, reset_at: float) -> RateLimited:
    wait_s = max(1, math.ceil(reset_at - time.time()))
    return RateLimited(f"too many {limit.counts}: at most {rule}; try again in {wait_s} s",
                       wait_s)


def _limits_uri(url: str, asynchronous: bool) -> str:
    """The platform's Redis URL as `limits` spells it (unix:// is redis+unix://)."""
    scheme, _, rest = url.partition("://")
    scheme = "redis+unix" if scheme == "unix" else scheme
    return f"{'async+' if asynchronous else ''}{scheme}://{rest}"


# ----------------------------------------------------------------------- counting (sync)


class Counter:
    """Counts in Redis; in this process's memory while Redis is down."""

    def __init__(self, url: str) -> None:
        storage = limits.storage.RedisStorage(
            _limits_uri(url, False), wrap_exceptions=True, key_prefix=KEY_PREFIX,
            socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)
        self.shared = limits.strategies.FixedWindowRateLimiter(storage)
        self.local: limits.strategies.FixedWindowRateLimiter | None = None
        self.down_until = 0.0

    def _run(self, count: Callable[[Any], RateLimited | None]) -> RateLimited | None:
        if time.monotonic() >= self.down_until:
            try:
                return count(self.shared)
            except StorageError as exc:
                self.down_until = _went_down(exc)
        if self.local is None:
            self.local = limits.strategies.FixedWindowRateLimiter(
                limits.storage.MemoryStorage())
        return count(self.local)

    def hit(self, limit: Limit, key: str) -> RateLimited | None:
        """Count one call; the refusal when it is one too many."""
        return self._run(lambda strategy: _hit(strategy, limit, key))


def _hit(strategy: Any, limit: Limit, key: str) -> RateLimited | None:
    for rule in rules(limit):
        if not strategy.hit(rule, limit.setting, key):
            return _refusal(limit, rule, strategy.get_window_stats(rule, limit.setting,
                                                                   key).reset_time)
    return None


def _went_down(exc: Exception) -> float:
    """Log that Redis is down; until when to count in memory."""
    log.warning("rate limits: Redis did not answer (%s); counting in this process's memory "
                "for %.0f s", exc.__cause__ or exc, REDIS_RETRY_S)
    return time.monotonic() + REDIS_RETRY_S


@lru_cache(maxsize=8)
def _counter(url: str) -> Counter:
    return Counter(url)


def hit(limit: Limit, key: str) -> None:
    """Count one call against the limit; RateLimited when it is one too many."""
    if rules(limit) and (refused := _counter(redis_url()).hit(limit, key)) is not None:
        raise refused


# ---------------------------------------------------------------------- counting (async)


class AsyncCounter:
    """Counter for an event loop (one per ASGI middleware: its Redis client is the loop's)."""

    def __init__(self) -> None:
        self._shared: dict[str, async_strategies.FixedWindowRateLimiter] = {}
        self.local: async_strategies.FixedWindowRateLimiter | None = None
        self.down_until = 0.0

    def _shared_for(self, url: str) -> async_strategies.FixedWindowRateLimiter:
        if url not in self._shared:
            storage = async_storage.RedisStorage(
                _limits_uri(url, True), implementation="redispy", wrap_exceptions=True,
                key_prefix=KEY_PREFIX, socket_connect_timeout=REDIS_TIMEOUT_S,
                socket_timeout=REDIS_TIMEOUT_S)
            self._shared[url] = async_strategies.FixedWindowRateLimiter(storage)
        return self._shared[url]

    async def _run(self, count: Callable[[Any], Awaitable[RateLimited | None]]
                   ) -> RateLimited | None:
        if time.monotonic() >= self.down_until:
            try:
                return await count(self._shared_for(redis_url()))
            except StorageError as exc:
                self.down_until = _went_down(exc)
        if self.local is None:
            self.local = async_strategies.FixedWindowRateLimiter(
                async_storage.MemoryStorage())
        return await count(self.local)

    async def hit(self, limit: Limit, key: str) -> None:
        """Count one call against the limit; RateLimited when it is one too many."""
        if rules(limit) and (refused := await self._run(
                lambda strategy: _hit_async(strategy, limit, key))) is not None:
            raise refused


async def _hit_async(strategy: Any, limit: Limit, key: str) -> RateLimited | None:
    for rule in rules(limit):
        if not await strategy.hit(rule, limit.setting, key):
            stats = await strategy.get_window_stats(rule, limit.setting, key)
            return _refusal(limit, rule, stats.reset_time)
    return None
