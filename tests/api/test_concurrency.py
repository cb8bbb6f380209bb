"""At most N requests run inside the app at once; streams and /health are not held back."""

from __future__ import annotations

import asyncio

from api.concurrency import ConcurrencyLimit


def test_requests_beyond_the_limit_wait_their_turn_and_streams_do_not() -> None:
    inside = 0
    peak = 0

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await asyncio.sleep(0.01)
        inside -= 1

    limited = ConcurrencyLimit(app, limit=3)  # type: ignore[arg-type]

    async def run(path: str, n: int) -> None:
        await asyncio.gather(*(limited({"type": "http", "path": path}, None, None) for _ in range(n)))  # type: ignore[arg-type]

    asyncio.run(run("/threads/1/messages", 20))
    assert peak == 3
    peak = 0
    asyncio.run(run("/events/stream", 20))
    assert peak == 20
