"""A loop's inbox of stream items: one subscriber that raises does not stop the others, and a loop
too busy to keep up marks the streams it cannot feed overflowed (they reconnect and replay) instead
of holding items without bound."""

from __future__ import annotations

import asyncio

import pytest

from api.stream import hub
from api.stream.hub import Subscriber, _LoopInbox
from bus.outbox import StoredItem


class _Broken(Subscriber):
    def offer(self, item: StoredItem) -> None:
        raise RuntimeError("this stream cannot take items")


def _item(seq: int) -> StoredItem:
    return StoredItem(seq=seq, kind="notification", payload={})


def test_one_subscriber_that_raises_does_not_stop_the_loops_other_streams() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        inbox = _LoopInbox(loop)
        broken, fine = _Broken("0xa", loop), Subscriber("0xb", loop)
        inbox.add([(broken, _item(1)), (fine, _item(1)), (broken, _item(2)), (fine, _item(2))])
        await asyncio.sleep(0)
        assert [i.seq for i in fine.pending] == [1, 2] and not inbox.scheduled
        inbox.add([(fine, _item(3))])  # the inbox was not left stuck "scheduled"
        assert [i.seq for i in fine.pending] == [1, 2, 3]

    asyncio.run(run())


def test_a_loop_that_cannot_keep_up_overflows_streams_instead_of_growing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub, "INBOX_LIMIT", 3)
    monkeypatch.setattr(hub, "WAKE_SLICE", 1)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        inbox = _LoopInbox(loop)
        early, late = Subscriber("0xa", loop), Subscriber("0xb", loop)
        inbox.add([(early, _item(1)), (early, _item(2)), (early, _item(3))])  # one applied, two wait
        inbox.add([(late, _item(4)), (late, _item(5))])  # room for one
        assert len(inbox.work) == 3
        assert late.overflowed  # told to reconnect and replay from its last id
        for _ in range(10):
            await asyncio.sleep(0)
        assert [i.seq for i in early.pending] == [1, 2, 3] and not early.overflowed
        assert not late.pending and not inbox.work

    asyncio.run(run())
