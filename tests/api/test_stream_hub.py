"""The hub's hand-over to an event loop: wake-ups in slices, items in the order they were read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.stream.hub import WAKE_SLICE, Subscriber, _LoopInbox
from bus import outbox
from bus.outbox import OutboxItem, StoredItem
from tests.indexer.conftest import make_database


def test_offers_reach_a_loop_a_slice_per_turn_and_never_overtake_each_other() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        subs = [Subscriber(f"0x{i:040x}", loop) for i in range(3)]
        inbox = _LoopInbox(loop)
        first = [(subs[n % 3], StoredItem(n, "chain_event", {})) for n in range(2 * WAKE_SLICE + 10)]
        inbox.add(list(first))
        # The first slice at once; the rest waits for later turns of the loop.
        assert sum(len(s.pending) for s in subs) == WAKE_SLICE
        # A second batch read while the first is still being handed over queues behind it, and a
        # tick (None) is applied in its turn.
        later = [(subs[0], StoredItem(10_000, "chain_event", {})), (subs[1], None)]
        inbox.add(list(later))
        assert sum(len(s.pending) for s in subs) == WAKE_SLICE
        await asyncio.sleep(0)
        assert sum(len(s.pending) for s in subs) == 2 * WAKE_SLICE
        for _ in range(3):
            await asyncio.sleep(0)
        assert not inbox.scheduled and not inbox.work
        for i, sub in enumerate(subs):
            expected = [n for n in range(len(first)) if n % 3 == i] + ([10_000] if i == 0 else [])
            assert [item.seq for item in sub.pending] == expected
        assert subs[1].ticked and not subs[0].ticked

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_batch_appended_at_once_keeps_its_order_and_each_audience(kind: str, tmp_path: Path) -> None:
    """One multi-row INSERT … RETURNING: sequences ascend in the batch's order, each item's audience
    rows name its own sequence."""
    for engine in make_database(kind, tmp_path):
        items = [OutboxItem("signal", frozenset({f"0x{n % 7 + 1:040x}"}), {"n": n}) for n in range(300)]
        with engine.begin() as conn:
            last = outbox.append(conn, items)
        with engine.connect() as conn:
            read = outbox.read_after(conn, 0)
        assert [i.payload["n"] for i in read] == list(range(300))
        assert [i.seq for i in read] == sorted(i.seq for i in read) and read[-1].seq == last
        assert all(i.audience == items[i.payload["n"]].audience for i in read)
