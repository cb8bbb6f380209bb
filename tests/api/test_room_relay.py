"""The room's signalling relay: a batch that failed ends the room at the next frame even when a later
batch of the same socket was written, and no socket waits forever for a batch whose write raised."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

import pytest

from api.room.relay import SignalWriter, _Frame
from api.room.routes import RoomRefused, _Relay
from api.room.service import Room


class _Writer(SignalWriter):
    """A SignalWriter whose first transaction fails after a second batch queued behind it."""

    def __init__(self) -> None:
        super().__init__(
            engine=cast(Any, None), sealer=cast(Any, None), clock=lambda: 0.0, written=lambda: None
        )
        self.go = threading.Event()
        self.batches: list[list[_Frame]] = []

    def _write(self, batch: list[_Frame]) -> None:
        self.batches.append(batch)
        if len(self.batches) == 1:
            self.go.wait(5)
            raise RuntimeError("the outbox is unavailable")


def test_a_failed_batch_ends_the_room_though_a_later_one_was_written() -> None:
    async def run() -> None:
        writer = _Writer()
        relay = _Relay(writer, cast(Room, object()), "0xme", "c1")
        relay.add({"type": "candidate", "n": 1})  # batch 1: its write is under way
        await asyncio.sleep(0.05)
        relay.add({"type": "candidate", "n": 2})  # batch 2 queues behind it
        writer.go.set()
        with pytest.raises(RoomRefused) as refused:
            await relay.drain()  # batch 2 was written; batch 1 was not
        assert refused.value.code == 1011 and [len(b) for b in writer.batches] == [1, 1]
        with pytest.raises(RoomRefused):
            relay.add({"type": "candidate", "n": 3})

    asyncio.run(run())


def test_every_waiting_socket_hears_of_a_write_that_raised() -> None:
    async def run() -> None:
        class Broken(SignalWriter):
            def _write(self, batch: list[_Frame]) -> None:
                raise KeyError("a frame the service cannot turn into items")

        writer = Broken(cast(Any, None), cast(Any, None), lambda: 0.0, lambda: None)
        done = writer.add(cast(Room, object()), "0xme", "c1", {"type": "hangup"})
        outcome = await asyncio.wait_for(done, 5)
        assert isinstance(outcome, KeyError)

    asyncio.run(run())
