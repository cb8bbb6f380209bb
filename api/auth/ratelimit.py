"""Rate limits: a moving window per client, kept in this process's memory (one process; idle clients
expire) or, with the `limits` library, in Redis when `SKILLCHAIN_REDIS_URL` is set, shared by every
API replica.

In memory the window is our own (`MemoryWindows`), not `limits.MemoryStorage`: that one re-scans every
key's list of hits on a timer every 10 ms while any hit is recent — with 1,000 wallets under the
message limit, most of an API core (bench/messages.py); ours prunes one key when it is checked and
sweeps idle keys once a window.

The client is the direct peer's address; `X-Forwarded-For` is believed only when that peer is a
configured trusted proxy (SKILLCHAIN_TRUSTED_PROXIES), and then its right-most address that is not
itself a trusted proxy — the one the trusted proxy saw. Anything a client writes in the header
otherwise changes nothing.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from fastapi import HTTPException, Request
from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def open_storage(redis_url: str | None) -> Storage | None:
    """Redis (shared by the replicas) when configured, else None: each limiter keeps its own window
    in this process's memory."""
    if redis_url:
        return storage_from_string(redis_url)  # type: ignore[return-value]
    return None


class MemoryWindows:
    """Moving windows in memory: per key, the times of its hits within the last `window` seconds
    (one entry per unit of cost). Thread-safe; `clock` is injectable (tests move it)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + window

    def hit(self, key: str, cost: int) -> float | None:
        """Record `cost` hits; None if they fit, else the seconds until they would."""
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            horizon = now - self.window
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) + cost > self.limit:
                if cost > self.limit:
                    return self.window  # never fits (callers refuse it in words first)
                # Enough of the oldest hits must leave the window for `cost` new ones to fit.
                freed_by = hits[len(hits) + cost - self.limit - 1]
                return max(0.0, freed_by + self.window - now)
            hits.extend([now] * cost)
            return None

    def _sweep(self, now: float) -> None:
        """Forget keys with no hit in the window (memory stays bounded by the active clients)."""
        horizon = now - self.window
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]
        self._next_sweep = now + self.window

    def __len__(self) -> int:
        return len(self._hits)


class RateLimiter:
    """`limit` hits per `window` seconds per key (0 = off); `check` records them or says how long
    to wait. A cost above the whole limit can never pass: callers refuse that in words first."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        storage: Storage | None = None,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = max(1, int(window))
        self._item = RateLimitItemPerSecond(
            max(limit, 1), self.window, namespace=f"skillchain-{name or 'rl'}"
        )
        self._strategy = MovingWindowRateLimiter(storage) if storage is not None else None
        self._memory = MemoryWindows(max(limit, 1), self.window, clock)

    @property
    def in_memory(self) -> bool:
        """Whether `check` stays in this process (no I/O: callable on the event loop)."""
        return self._strategy is None

    def check(self, key: str, cost: int = 1) -> int | None:
        """Record `cost` hits; None if allowed, else the seconds to wait (for Retry-After)."""
        if self.limit <= 0:
            return None
        if self._strategy is None:
            wait = self._memory.hit(key, cost)
            return None if wait is None else max(1, math.ceil(wait))
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
