"""A lean server-sent-events response for the live stream.

Why not sse-starlette's EventSourceResponse (used here before): it runs four tasks, a task group and
an anyio cancel scope per connection and per send, and its own ping timer per stream. At 10,000 open
streams those objects were what the garbage collector kept re-scanning, and the per-send cancel
scopes were a third of the delivery CPU (make bench-stream). This response runs one extra task per
stream (it waits for the client to go away), sends the frames its iterator yields as they are, and
leaves keep-alive comments to the iterator (the stream hub ticks every stream, spread over time).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class LiveStreamResponse(Response):
    """`text/event-stream` of the byte frames `frames` yields, until it ends or the client leaves.

    `on_disconnect` runs (on the event loop) when the client closes the connection: it must make the
    iterator return soon (the stream wakes its subscriber). A client that stops reading for
    `send_timeout` seconds is dropped, so its slot and buffers are freed."""

    media_type = "text/event-stream"

    def __init__(
        self,
        frames: AsyncIterator[bytes],
        *,
        on_disconnect: Callable[[], None],
        headers: Mapping[str, str] | None = None,
        send_timeout: float = 30.0,
    ) -> None:
        super().__init__(content=None, status_code=200, headers=headers, media_type=self.media_type)
        # Starlette's Response counts its (empty) body: a stream has no length.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.frames = frames
        self.on_disconnect = on_disconnect
        self.send_timeout = send_timeout
        self.disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The frames are closed whatever happens, the start of the response included: closing them is
        # what gives the stream's slot back (a client gone before the headers left kept it otherwise).
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            if scope.get("method", "GET").upper() == "HEAD":  # headers only: a HEAD never opens a stream
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            watcher = asyncio.get_running_loop().create_task(self._watch(receive))
            try:
                await self._pump(send)
            finally:
                watcher.cancel()
        finally:
            await _close(self.frames)

    async def _pump(self, send: Send) -> None:
        async for chunk in self.frames:
            if self.disconnected:
                break
            try:
                async with asyncio.timeout(self.send_timeout):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except TimeoutError:  # the client stopped reading: drop it
                self.disconnected = True
                break
        if not self.disconnected:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                self.on_disconnect()
                return


async def _close(frames: AsyncIterator[bytes]) -> None:
    close = getattr(frames, "aclose", None)
    if close is not None:
        await close()
