"""A per-client sliding-window rate limit for the auth routes (per API process)."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request


class RateLimiter:
    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None, cost: int = 1) -> int | None:
        """Record `cost` hits; None if allowed, else the seconds to wait (for Retry-After). A cost
        above the whole limit can never pass: the caller says so in words instead."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) + cost > self.per_minute:
                oldest = hits[min(len(hits) - 1, len(hits) + cost - self.per_minute - 1)] if hits else now
                return max(1, math.ceil(oldest + self.window - now))
            hits.extend([now] * cost)
            return None


def public_write_limited(request: Request) -> None:
    """Dependency: unauthenticated routes that write a row (a challenge) are limited per client."""
    limiter: RateLimiter = request.app.state.public_limiter
    client = request.client.host if request.client else "unknown"
    wait = limiter.check(client)
    if wait is not None:
        raise HTTPException(429, "too many requests; try again later", headers={"Retry-After": str(wait)})
