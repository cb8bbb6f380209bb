"""At most N requests inside the application at once; the rest wait their turn on the event loop.

Every request takes a database connection on a worker thread and needs more worker threads to finish.
Admitting an unbounded number at once (a thousand clients sending at the same moment) lets admitted
requests hold all the pool's connections while waiting for threads, and the rest time out after 30 s
(measured with bench/messages.py: "QueuePool limit of size 10 overflow 80 reached"). Waiting here
costs a coroutine, not a thread or a connection. Long-lived streams, WebSockets and /health are not
counted: they are not queued behind ordinary requests, and a probe must see a busy server as alive.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

UNCOUNTED = ("/events/stream", "/health")


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["path"] in UNCOUNTED:
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created on the server's own event loop
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
