"""CPython's cyclic collector, paced for a process that holds thousands of open streams.

Measured with bench/stream.py at 10,000 streams and 200 events/s (issue #22):

- The default thresholds (a full pass every 7,000 allocations' worth of young passes) re-scan the
  process's millions of live objects: /health p99 2.6 s.
- Each stream that wakes frees the objects of its last wait (a future, its callbacks, the coroutine)
  and makes new ones, so the allocation counter that triggers a young collection stays nearly flat
  while the young generation fills with every waiting stream's objects: 60,000 objects, 50-70 ms
  per young collection, the largest share of /health's p99.

So the young generation is also collected on a clock (every YOUNG_EVERY seconds), when it holds only
what the last fraction of a second made, and the middle generation, which then collects what
survived, runs rarely. The API makes few reference cycles; cyclic garbage still goes, only later.
"""

from __future__ import annotations

import asyncio
import gc

# (young, middle, old): young passes before a middle one, middle passes before a full one.
GC_THRESHOLDS = (5_000, 1_000, 100)
YOUNG_EVERY = 0.1  # seconds


def tune_gc() -> None:
    """Raise the collector's thresholds to GC_THRESHOLDS; never lowers what is set already."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(now, tuned) for now, tuned in zip(current, GC_THRESHOLDS, strict=False)))


async def collect_young_on_a_clock(every: float = YOUNG_EVERY) -> None:
    """Collect the young generation every `every` seconds, until cancelled (the app's lifespan)."""
    while True:
        await asyncio.sleep(every)
        gc.collect(0)
