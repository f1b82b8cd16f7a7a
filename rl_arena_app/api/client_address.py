"""Who is calling: the client's address, seen through the reverse proxies we trust.

Behind a proxy every request comes from the proxy, which names the client in X-Forwarded-For
(appending the address it was called from). Only a peer in RL_ARENA_TRUSTED_PROXIES is
believed: the header is read from its right end, skipping our proxies, and the first address
that is not one of them is the client. Anything further left was written by the client and
is ignored; a peer we do not trust is the client, whatever it sends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.types import Scope

from rl_arena_app.settings import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def _networks(setting: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in setting.split(",") if part.strip())


def trusted_proxies() -> tuple[Network, ...]:
    """RL_ARENA_TRUSTED_PROXIES as networks."""
    return _networks(get_settings().trusted_proxies)


def client_address(scope: Scope, trusted: Iterable[Network] | None = None) -> str:
    """The address of the client that sent this request (``unknown`` if the server cannot say)."""
    trusted = tuple(trusted_proxies() if trusted is None else trusted)
    peer = _ip((scope.get("client") or ("",))[0])
    if peer is None:
        return UNKNOWN
    hop = peer
    for entry in reversed(_forwarded_for(scope)):
        if not _within(hop, trusted):
            break
        forwarded = _ip(entry)
        if forwarded is None:  # not an address: no proxy of ours wrote it
            break
        hop = forwarded
    return str(hop)


def from_trusted_proxy(scope: Scope) -> bool:
    """Whether the peer itself is one of our proxies (whose headers are believed)."""
    peer = _ip((scope.get("client") or ("",))[0])
    return peer is not None and _within(peer, trusted_proxies())


def _forwarded_for(scope: Scope) -> list[str]:
    """Every X-Forwarded-For entry, left to right (over all such headers)."""
    return [entry.strip() for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for" for entry in value.decode("latin-1").split(",")]


def _ip(text: str) -> IP | None:
    try:
        return ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def _within(address: IP, networks: tuple[Network, ...]) -> bool:
    mapped = getattr(address, "ipv4_mapped", None) or address
    return any(mapped in network for network in networks)
