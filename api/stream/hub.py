"""The fan-out: one reader per API process turns the outbox into the live streams of its subscribers.

A background thread reads new outbox items (never on the event loop) when the bus wakes it, or every
`poll_interval` seconds in case a wake-up was lost, and hands each to the subscribers in its audience
— in memory, so no database query runs per connected client. Each subscriber lives on an event loop;
items reach it through `loop.call_soon_threadsafe`, batched per loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from api.observability import STREAM_LAG
from bus import outbox
from bus.outbox import StoredItem
from bus.wake import Bus

log = logging.getLogger("skillchain.stream")

QUEUE_LIMIT = 1000  # items a slow client may fall behind before it is told to reconnect
# Each stream is ticked once per tick interval, a slice of them at a time: ticking 10,000 streams at
# once queued 10,000 wake-ups ahead of every other request on the loop.
TICK_SLICES = 15
# Wake-ups handed to a loop's streams per turn of that loop: 200 events/s to 50 streams each arrive
# as batches of a thousand offers, whose stream writes (30-50 us each) held every other request for
# tens of milliseconds in one turn; in slices, a request waits for one slice at most.
WAKE_SLICE = 100
READ_BATCH = 500  # outbox items per read
INBOX_LIMIT = 200_000  # entries waiting on one loop (bounded memory when the loop is starved)


class TooManyStreams(Exception):
    """The wallet already holds the most open streams it may."""


class Subscriber:
    """One open stream (or room socket) on its event loop: the items the hub handed it, a tick flag,
    and at most one waiting future — lighter than an asyncio.Queue, which 10,000 streams each held
    with its own deque, futures list and bookkeeping (bench/stream.py)."""

    __slots__ = (
        "_waiter",
        "address",
        "closed",
        "loop",
        "overflowed",
        "pending",
        "start",
        "tick_slot",
        "ticked",
    )

    def __init__(
        self, address: str, loop: asyncio.AbstractEventLoop, *, start: int = 0, tick_slot: int = 0
    ) -> None:
        self.address = address
        self.loop = loop
        self.start = start  # the hub's position when it registered: later items reach it
        self.tick_slot = tick_slot  # which slice of the hub's tick wakes it (spread over the interval)
        self.pending: deque[StoredItem] = deque()
        # The hub's periodic tick, so an idle stream re-checks its session (and pings) without a timer
        # of its own (10,000 streams, 10,000 timers otherwise).
        self.ticked = False
        self.overflowed = False
        self.closed = False  # the client left: the stream returns at its next wake
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, item: StoredItem) -> None:
        """On the subscriber's loop: queue the item; when the client fell too far behind, drop what
        follows and mark the stream, which then tells the client to reconnect (and replay) from the
        last id it received — order is kept, nothing is lost."""
        if self.overflowed:
            return
        if len(self.pending) >= QUEUE_LIMIT:
            self.overflowed = True
        else:
            self.pending.append(item)
        self._wake()

    def overflow(self) -> None:
        """On the subscriber's loop: items for it were dropped before they reached it; the stream
        tells the client to reconnect from the last id it received, as when its own queue is full."""
        self.overflowed = True
        self._wake()

    def tick(self) -> None:
        self.ticked = True
        self._wake()

    def close(self) -> None:
        """On the subscriber's loop: the client went away; wake the stream so it returns now."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until an item, a tick or the close is there (at once if one is)."""
        if self.pending or self.ticked or self.closed or self.overflowed:
            return
        self._waiter = self.loop.create_future()
        await self._waiter

    async def get(self) -> StoredItem | None:
        """The next item, or None for a tick (or the close: check `closed`)."""
        while True:
            if self.pending:
                return self.pending.popleft()
            if self.ticked or self.closed:
                self.ticked = False
                return None
            if self.overflowed:
                return None
            await self.wait()


@dataclass
class HubStats:
    subscribers: int
    position: int
    lag_seconds: float
    bus: str
    bus_healthy: bool


class StreamHub:
    def __init__(
        self,
        engine: Engine,
        bus: Bus,
        *,
        per_user: int = 5,
        poll_interval: float = 1.0,
        retention: int = 7 * 86400,
        tick_interval: float = 15.0,
        clock: Callable[[], float] = time.time,
        open_item: Callable[[StoredItem], StoredItem] = lambda item: item,
    ) -> None:
        self.engine = engine
        # Applied once per item read, before any fan-out or replay: opens sealed payloads (messages
        # are encrypted in the outbox as in their own table).
        self.open_item = open_item
        self.bus = bus
        self.per_user = per_user
        self.poll_interval = poll_interval
        self.retention = retention
        self.clock = clock
        self._subs: dict[str, set[Subscriber]] = defaultdict(set)
        self._tx_waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop_listening: Callable[[], None] | None = None
        self.position = 0  # the last sequence handed out
        self._last_read = time.monotonic()
        self._next_prune = 0.0
        self.tick_interval = tick_interval
        self._next_tick = time.monotonic() + tick_interval / TICK_SLICES
        self._tick_part = 0
        self._tick_all = False
        self._slots = 0  # round-robin tick slot for the next subscriber
        self._inboxes: dict[asyncio.AbstractEventLoop, _LoopInbox] = {}
        self._conn: Connection | None = None  # the reader thread's own (see _reader)
        self.delivered = 0

    # ------------------------------------------------------------ subscribers
    def subscribe(self, address: str, loop: asyncio.AbstractEventLoop, *, counted: bool = True) -> Subscriber:
        """Register a stream (call `start()` first, off the event loop). Its `start` is read under the
        lock the dispatcher advances the position with: every item above it reaches the queue.
        `counted`: held against the per-user cap of open streams (a session room's socket is not)."""
        with self._lock:
            mine = self._subs[address]
            if counted and self.per_user and len(mine) >= self.per_user:
                raise TooManyStreams(address)
            sub = Subscriber(address, loop, start=self.position, tick_slot=self._slots % TICK_SLICES)
            self._slots += 1
            mine.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            mine = self._subs.get(sub.address)
            if mine is not None:
                mine.discard(sub)
                if not mine:
                    del self._subs[sub.address]

    def tx_waiter(
        self, tx_hash: str, loop: asyncio.AbstractEventLoop
    ) -> tuple[asyncio.Event, Callable[[], None]]:
        """An event set when an item of transaction `tx_hash` is read (GET /tx/{hash}?wait=…), and
        the function that forgets it (call `start()` first, off the event loop)."""
        event = asyncio.Event()
        key = tx_hash.lower()
        with self._lock:
            self._tx_waiters[key].append((loop, event))

        def forget() -> None:
            with self._lock:
                waiters = self._tx_waiters.get(key, [])
                if (loop, event) in waiters:
                    waiters.remove((loop, event))
                if not waiters:
                    self._tx_waiters.pop(key, None)

        return event, forget

    def count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    def stats(self) -> HubStats:
        return HubStats(
            subscribers=self.count(),
            position=self.position,
            lag_seconds=round(time.monotonic() - self._last_read, 3),
            bus=self.bus.name,
            bus_healthy=self.bus.healthy(),
        )

    # ------------------------------------------------------------ the reader
    def start(self) -> None:
        """Start the reader once (lazily, on the first subscriber; it queries the database, so call
        it from a thread, never on the event loop)."""
        with self._start_lock:
            if self._thread is not None:
                return
            with self.engine.connect() as conn:
                head = outbox.head(conn)  # a new stream starts from now (replay covers the past)
            with self._lock:
                self.position = head
            self._thread = threading.Thread(target=self._run, name="stream-hub", daemon=True)
            self._thread.start()
            self._stop_listening = self.bus.listen(self._wake.set)

    def oldest(self) -> int:
        """The lowest sequence still in the outbox (what a reconnect can replay from)."""
        with self.engine.connect() as conn:
            return outbox.oldest(conn)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._stop_listening is not None:
            self._stop_listening()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def tick_now(self) -> None:
        """Tick every stream at once (tests: a moved clock is noticed without waiting)."""
        self._tick_all = True
        self._next_tick = 0.0
        self._wake.set()

    def written(self) -> None:
        """After a commit that appended to the outbox: this process's reader reads at once, and the
        other replicas hear the bus."""
        self.poke()
        self.bus.wake()

    def poke(self) -> None:
        """Read now (tests and same-process writers that know they just committed)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(max(0.0, min(self.poll_interval, self._next_tick - time.monotonic())))
            self._wake.clear()
            try:
                self._drain()
                self._maybe_tick()
                self._maybe_prune()
            except Exception:
                log.exception("reading the outbox failed; retrying")
                self._drop_reader()
                self._stop.wait(1.0)
        self._drop_reader()

    def _reader(self) -> Connection:
        """The reader's own connection, kept between reads and in autocommit: a pooled checkout per
        read cost a ping and a rollback each, and SQLite reopens its file (bench/messages.py: the
        reader spent about as much CPU per message as the route that sent it)."""
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _drop_reader(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: the next read opens a new one
                log.debug("closing the stream reader's connection failed", exc_info=True)

    def _drain(self) -> None:
        while True:
            items = outbox.read_after(self._reader(), self.position, READ_BATCH)
            self._last_read = time.monotonic()
            if not items:
                return
            items = [self.open_item(i) for i in items]
            self._dispatch(items)
            STREAM_LAG.observe(max(0.0, time.time() - items[-1].created_at))
            if len(items) < READ_BATCH:
                return  # all there was: the next wake-up (or the poll) reads again

    def _dispatch(self, items: list[StoredItem]) -> None:
        per_loop: dict[asyncio.AbstractEventLoop, list[tuple[Subscriber, StoredItem | None]]] = defaultdict(
            list
        )
        woken: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        with self._lock:
            for item in items:
                for address in item.audience:
                    for sub in self._subs.get(address, ()):
                        per_loop[sub.loop].append((sub, item))
                if self._tx_waiters and isinstance(tx := item.payload.get("tx"), str):
                    woken += self._tx_waiters.get(tx.lower(), [])
            # Advanced under the same lock subscribe() reads it with: a stream registered after this
            # starts above these items, one registered before has them queued.
            self.position = items[-1].seq
        for loop, event in woken:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass
        for loop, batch in per_loop.items():
            self.delivered += len(batch)
            if not self._hand(loop, batch):  # the loop closed: its streams are gone, forget them
                with self._lock:
                    for sub, _ in batch:
                        self._subs.get(sub.address, set()).discard(sub)

    def _hand(
        self, loop: asyncio.AbstractEventLoop, work: list[tuple[Subscriber, StoredItem | None]]
    ) -> bool:
        """Queue offers (an item, or None for a tick) on the loop's inbox; False if the loop closed."""
        inbox = self._inboxes.get(loop)
        if inbox is None:
            inbox = self._inboxes[loop] = _LoopInbox(loop)
        try:
            loop.call_soon_threadsafe(inbox.add, work)
        except RuntimeError:
            self._inboxes.pop(loop, None)
            return False
        return True

    def _maybe_tick(self) -> None:
        now = time.monotonic()
        if now < self._next_tick:
            return
        self._next_tick = now + self.tick_interval / TICK_SLICES
        every, part = self._tick_all, self._tick_part
        self._tick_all, self._tick_part = False, (part + 1) % TICK_SLICES
        per_loop: dict[asyncio.AbstractEventLoop, list[tuple[Subscriber, StoredItem | None]]] = defaultdict(
            list
        )
        with self._lock:
            for mine in self._subs.values():
                for sub in mine:
                    if every or sub.tick_slot == part:
                        per_loop[sub.loop].append((sub, None))
        for loop, ticks in per_loop.items():
            self._hand(loop, ticks)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune or not self.retention:
            return
        self._next_prune = now + 600
        with self.engine.begin() as conn:
            removed = outbox.prune(conn, older_than=int(self.clock()) - self.retention)
        if removed:
            log.info("pruned %s outbox items older than %s s", removed, self.retention)


class _LoopInbox:
    """On one event loop, the offers and ticks the reader handed it, applied WAKE_SLICE per turn of
    the loop and in the order they came (one queue per loop, so an item never overtakes another).
    Bounded: a loop too busy to take INBOX_LIMIT entries marks the subscribers of what it cannot take
    overflowed (they reconnect and replay: nothing lost, memory kept), and one subscriber that raises
    does not stop the others."""

    __slots__ = ("loop", "scheduled", "work")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.work: deque[tuple[Subscriber, StoredItem | None]] = deque()
        self.scheduled = False

    def add(self, work: list[tuple[Subscriber, StoredItem | None]]) -> None:
        room = INBOX_LIMIT - len(self.work)
        if len(work) > room:
            for sub, item in work[max(room, 0) :]:
                if item is not None:
                    sub.overflow()
            work = work[: max(room, 0)]
        self.work.extend(work)
        if not self.scheduled:
            self.scheduled = True
            self.run()

    def run(self) -> None:
        work = self.work
        try:
            for _ in range(min(WAKE_SLICE, len(work))):
                sub, item = work.popleft()
                try:
                    if item is None:
                        sub.tick()
                    else:
                        sub.offer(item)
                except Exception:  # one stream's fault: the rest of the loop's streams still hear
                    log.exception("stream of %s could not take an item", sub.address)
        finally:
            if work:
                self.loop.call_soon(self.run)  # the next slice after what else is ready on the loop
            else:
                self.scheduled = False
