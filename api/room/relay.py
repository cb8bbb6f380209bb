"""Room signalling frames on their way to the outbox: one writer per event loop for every room socket.

Whatever all sockets sent while the last write ran goes into the next single transaction, in arrival
order. Measured with bench/messages.py (200 rooms, 8,400 frames over about 10 s): a transaction per
frame, each waiting its turn on the outbox writers' lock, delivered 5,340 frames with a median of 24 s;
a transaction per socket's burst, 763 ms p99.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from api.messages.sealing import Sealer
from api.room import service
from api.room.service import Room
from bus import outbox

log = logging.getLogger("skillchain.room")


@dataclass(frozen=True)
class _Frame:
    room: Room
    sender: str
    connection: str
    frame: dict[str, Any]


class SignalWriter:
    """Frames of every room socket on one event loop, written by one flusher task."""

    def __init__(
        self, engine: Engine, sealer: Sealer, clock: Callable[[], float], written: Callable[[], None]
    ) -> None:
        self.engine = engine
        self.sealer = sealer
        self.clock = clock
        self.written = written
        self._pending: list[_Frame] = []
        self._batch: asyncio.Future[BaseException | None] | None = None
        self._task: asyncio.Task[None] | None = None

    def add(
        self, room: Room, sender: str, connection: str, frame: dict[str, Any]
    ) -> asyncio.Future[BaseException | None]:
        """Queue a frame; the future resolves when its transaction ended: None, or what it raised."""
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = loop.create_future()
        self._pending.append(_Frame(room, sender, connection, frame))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._flush())
        return self._batch

    async def _flush(self) -> None:
        while self._pending:
            batch, done = self._pending, self._batch
            self._pending, self._batch = [], None
            assert done is not None
            error: BaseException | None = None
            try:
                await asyncio.to_thread(self._write, batch)
            except BaseException as exc:
                log.warning("room signals not written (%s frames): %s", len(batch), exc)
                error = exc
                if not isinstance(exc, Exception):  # cancelled (shutdown): the sockets still hear of it
                    done.set_result(error)
                    raise
            else:
                self.written()
            finally:
                if not done.done():  # whatever happened, no socket waits for this batch forever
                    done.set_result(error)

    def _write(self, batch: list[_Frame]) -> None:
        items = [
            item
            for f in batch
            for item in service.signal_items(self.sealer, f.room, f.sender, f.connection, [f.frame])
        ]
        with self.engine.begin() as conn:
            outbox.append(conn, items, now=int(self.clock()))


class SignalWriters:
    """One SignalWriter per event loop (an API process has one; tests may run several)."""

    def __init__(self, make: Callable[[], SignalWriter]) -> None:
        self.make = make
        self._by_loop: dict[int, tuple[asyncio.AbstractEventLoop, SignalWriter]] = {}

    def here(self) -> SignalWriter:
        loop = asyncio.get_running_loop()
        known = self._by_loop.get(id(loop))
        if known is None or known[0] is not loop:
            self._by_loop = {k: v for k, v in self._by_loop.items() if not v[0].is_closed()}
            known = self._by_loop[id(loop)] = (loop, self.make())
        return known[1]
