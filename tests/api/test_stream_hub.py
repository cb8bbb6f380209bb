"""The hub's hand-over to an event loop: wake-ups in slices, items in the order they were read."""

from __future__ import annotations

import asyncio

from api.stream.hub import WAKE_SLICE, Subscriber, _LoopInbox
from bus.outbox import StoredItem


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
