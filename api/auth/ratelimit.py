"""Rate limits with the `limits` library: a moving window per client, kept in memory (one process;
idle clients expire) or in Redis when `SKILLCHAIN_REDIS_URL` is set, shared by every API replica.

The client is the direct peer's address; `X-Forwarded-For` is believed only when that peer is a
configured trusted proxy (SKILLCHAIN_TRUSTED_PROXIES), and then its right-most address that is not
itself a trusted proxy — the one the trusted proxy saw. Anything a client writes in the header
otherwise changes nothing.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Sequence

from fastapi import HTTPException, Request
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def open_storage(redis_url: str | None) -> Storage:
    """Redis (shared by the replicas) when configured, else this process's memory."""
    if redis_url:
        return storage_from_string(redis_url)  # type: ignore[return-value]
    return MemoryStorage()


class RateLimiter:
    """`limit` hits per `window` seconds per key (0 = off); `check` records them or says how long
    to wait. A cost above the whole limit can never pass: callers refuse that in words first."""

    def __init__(
        self, limit: int, window: float = 60.0, *, storage: Storage | None = None, name: str = ""
    ) -> None:
        self.limit = limit
        self.window = max(1, int(window))
        self._item = RateLimitItemPerSecond(
            max(limit, 1), self.window, namespace=f"skillchain-{name or 'rl'}"
        )
        self._strategy = MovingWindowRateLimiter(storage or MemoryStorage())

    def check(self, key: str, cost: int = 1) -> int | None:
        """Record `cost` hits; None if allowed, else the seconds to wait (for Retry-After)."""
        if self.limit <= 0:
            return None
        if self._strategy.hit(self._item, key, cost=cost):
            return None
        stats = self._strategy.get_window_stats(self._item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def trusted_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def client_address(request: Request) -> str:
    """The address rate limits are keyed on (see the module's docstring)."""
    peer = request.client.host if request.client else "unknown"
    trusted: tuple[Network, ...] = request.app.state.trusted_proxies
    if not trusted or not _within(peer, trusted):
        return peer
    forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
    for hop in reversed(forwarded):
        if not _within(hop, trusted):
            return hop if _is_ip(hop) else peer
    return peer


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def public_write_limited(request: Request) -> None:
    """Dependency: unauthenticated routes that write a row (a nonce, a challenge), per client."""
    limiter: RateLimiter = request.app.state.public_limiter
    wait = limiter.check(client_address(request))
    if wait is not None:
        raise HTTPException(429, "too many requests; try again later", headers={"Retry-After": str(wait)})
