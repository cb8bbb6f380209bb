"""The indexing loop: historical ranges in bulk, the unfinalised window block by block with reorg
detection and a journal, every batch and its checkpoint committed in one transaction.

Reading (indexer/reader.py) overlaps writing; a long catch-up is read by a helper process
(indexer/offload.py) and runs without the read model's secondary indexes, which are built again at
its end."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from bus import outbox
from chain.artifacts import load_artifact
from chain.records import DeploymentRecord
from db.chain import (
    PROJECTION_TABLES,
    SECONDARY_INDEXES,
    chain_blocks,
    chain_events,
    indexer_checkpoints,
    reorg_journal,
)
from db.notifications import notifications
from indexer.errors import IndexerError, ReorgTooDeep
from indexer.notifications import notification_items
from indexer.offload import DecodeProcess
from indexer.project import PK, Projector
from indexer.reader import DecodedRange, RangePolicy, RangeReader, relax_gc
from indexer.rpc import RpcClient
from indexer.stream_items import event_items

log = logging.getLogger("skillchain.indexer")
INDEXED_CONTRACTS = ("SkillEscrow", "Reputation", "SkillCredential")


@dataclass
class Progress:
    """What a progress display or the metrics need after every batch."""

    block: int
    head: int
    events: int
    events_total: int
    elapsed: float


@dataclass
class Checkpoint:
    block_number: int
    block_hash: str


@dataclass
class IndexerConfig:
    chain_id: int
    addresses: dict[str, str]  # address -> contract name
    start_block: int
    finality_depth: int = 12
    max_range: int = 2_000
    initial_range: int = 8  # grows x2 per answer: dense chains stay small, sparse ones reach max_range fast
    target_logs: int = 5_000  # per eth_getLogs answer: bounds memory whatever the block density
    concurrency: int = 3
    poll_interval: float = 0.2
    # A catch-up expected to read at least this many more events reads them in a helper process
    # (None: never). Starting one costs about a second, so short catch-ups stay in-process.
    offload_min_events: int | None = 50_000
    # Live streams hear of events in blocks this close to the head (a first index of a long chain
    # does not fill the outbox with history no stream is waiting for).
    stream_backfill_blocks: int = 1_000

    def range_policy(self) -> RangePolicy:
        return RangePolicy(
            addresses=dict(self.addresses),
            chain_id=self.chain_id,
            max_range=self.max_range,
            initial_range=self.initial_range,
            target_logs=self.target_logs,
            concurrency=self.concurrency,
        )

    @classmethod
    def from_record(cls, record: DeploymentRecord, **overrides: Any) -> IndexerConfig:
        addresses = {
            entry.address.lower(): name
            for name, entry in record.contracts.items()
            if name in INDEXED_CONTRACTS
        }
        return cls(chain_id=record.chain_id, addresses=addresses, start_block=record.start_block, **overrides)


@dataclass
class Indexer:
    engine: Engine
    rpc: RpcClient
    config: IndexerConfig
    on_progress: Callable[[Progress], None] | None = None
    # Called after each commit that added outbox items (the bus's wake-up for the API replicas).
    wake: Callable[[int], None] | None = None
    reader: RangeReader = field(init=False)
    abis: dict[str, list[dict[str, Any]]] = field(init=False)
    projector: Projector = field(default_factory=Projector, init=False)
    events_total: int = field(default=0, init=False)
    reorgs: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.abis = {name: load_artifact(name).abi for name in INDEXED_CONTRACTS}
        self.reader = RangeReader(self.rpc, self.config.range_policy(), self.abis)
        self._started = time.monotonic()
        self._indexes_deferred = False
        self._next_analyze = 10_000

    # ------------------------------------------------------------ checkpoints
    def checkpoint(self, conn: Connection) -> Checkpoint | None:
        row = conn.execute(
            select(indexer_checkpoints).where(indexer_checkpoints.c.chain_id == self.config.chain_id)
        ).first()
        return Checkpoint(row.block_number, row.block_hash) if row else None

    def _set_checkpoint(self, conn: Connection, number: int, block_hash: str, genesis: str) -> None:
        c = self.config.chain_id
        updated = conn.execute(
            update(indexer_checkpoints)
            .where(indexer_checkpoints.c.chain_id == c)
            .values(block_number=number, block_hash=block_hash, genesis_hash=genesis)
        )
        if updated.rowcount == 0:
            conn.execute(
                insert(indexer_checkpoints).values(
                    chain_id=c, block_number=number, block_hash=block_hash, genesis_hash=genesis
                )
            )

    # ------------------------------------------------------------ reading
    def _decoded_ranges(self, start: int, end: int) -> Generator[DecodedRange, None, None]:
        """Finalised ranges, read in this process at first; once what is left looks like at least
        `offload_min_events` events (extrapolated from the blocks read so far), the rest is read by a
        helper process on the other core (indexer/offload.py), which starts while the range that
        decided it is decoded and written here."""
        reader = self.reader
        threshold = self.config.offload_min_events
        seen = 0

        def worth_offloading(last: int, logs: int) -> bool:
            left, done = end - last, last - start + 1
            return threshold is not None and left > 0 and (seen + logs) * left >= threshold * done

        # The first range is fetched alone (nothing fetched ahead yet): a dense chain decides there,
        # before any work that the helper would repeat. The rest is fetched ahead once iterated.
        first_end = min(end, start + reader.range - 1)
        first = reader.fetch(start, first_end)
        reader.adapt(len(first))
        with closing(reader.raw_ranges(first_end + 1, end)) as rest:
            for a, b, logs in itertools.chain([(start, first_end, first)], rest):
                if worth_offloading(b, len(logs)):
                    break
                yield reader.decoded(a, b, logs)
                seen += len(logs)
            else:
                return
        log.info("reading blocks %s..%s in a helper process", b + 1, end)
        self._defer_secondary_indexes()
        policy = replace(reader.policy, initial_range=reader.range)  # what this chain's density taught us
        with DecodeProcess(self.rpc, policy, self.abis, b + 1, end) as child:
            yield reader.decoded(a, b, logs)
            yield from child.ranges()

    def _defer_secondary_indexes(self) -> None:
        """Drop the read model's secondary indexes for a long catch-up (_catch_up builds them again when
        it ends, and `run` on start if a crash came first). Measured: a sixth of the writing time; the
        API still answers meanwhile, by scanning."""
        with self.engine.begin() as conn:
            for index in SECONDARY_INDEXES:
                index.drop(conn, checkfirst=True)
        self._indexes_deferred = True

    def _restore_secondary_indexes(self) -> None:
        with self.engine.begin() as conn:
            for index in SECONDARY_INDEXES:
                index.create(conn, checkfirst=True)
        self._indexes_deferred = False

    # ------------------------------------------------------------ the loop
    def run(self, *, once: bool = False, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        relax_gc()
        genesis = self.rpc.header(0).hash
        with self.engine.begin() as conn:
            self._check_genesis(conn, genesis)
        self._restore_secondary_indexes()  # a crash during a long catch-up left them dropped
        while not stop.is_set():
            head = self.rpc.block_number()
            self.sync_to(head, genesis, stop)
            if once:
                return
            stop.wait(self.config.poll_interval)

    def _check_genesis(self, conn: Connection, genesis: str) -> None:
        row = conn.execute(
            select(indexer_checkpoints.c.genesis_hash).where(
                indexer_checkpoints.c.chain_id == self.config.chain_id
            )
        ).first()
        if row is not None and row.genesis_hash != genesis:
            log.warning(
                "chain %s has a new genesis: the read model is stale and is rebuilt", self.config.chain_id
            )
            reset_chain(conn, self.config.chain_id)

    def sync_to(self, head: int, genesis: str, stop: threading.Event | None = None) -> None:
        c = self.config
        with self.engine.begin() as conn:
            cp = self.checkpoint(conn)
        if cp is not None:
            if cp.block_number > head:  # the chain got shorter: whatever we had above head is gone
                self._handle_reorg(head)
            else:
                self._detect_reorg_at_checkpoint(cp)
            with self.engine.begin() as conn:
                cp = self.checkpoint(conn)
        next_block = (cp.block_number + 1) if cp else c.start_block
        safe = head - c.finality_depth
        if next_block <= safe:
            self._catch_up(next_block, safe, genesis, head, stop)
            if stop is not None and stop.is_set():
                return
            next_block = safe + 1
        for number in range(max(next_block, c.start_block), head + 1):
            if stop is not None and stop.is_set():
                return
            self._index_live_block(number, head, genesis)
        self._prune(head)

    def _catch_up(self, start: int, end: int, genesis: str, head: int, stop: threading.Event | None) -> None:
        """Index the finalised blocks [start, end] range by range."""
        # Reading the next range overlaps with writing this one: one writer thread, one range in
        # flight, so ranges still commit in order and a writer's error surfaces here, before the next
        # range is handed over. A long catch-up reads in a helper process (see _decoded_ranges).
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer") as writer:
                pending: Future[None] | None = None
                with closing(self._decoded_ranges(start, end)) as ranges:
                    for r in ranges:
                        if pending is not None:
                            pending.result()
                        pending = writer.submit(self._write_range, r, genesis, head)
                        if stop is not None and stop.is_set():
                            break
                if pending is not None:
                    pending.result()
        finally:
            if self._indexes_deferred:
                log.info("catch-up done: building the read model's secondary indexes again")
                self._restore_secondary_indexes()

    def _write_range(self, r: DecodedRange, genesis: str, head: int) -> None:
        """One finalised range's rows and the checkpoint after it, in one transaction."""
        seq = None
        with self.engine.begin() as conn:
            self.projector.apply(
                conn, self.config.chain_id, r.events, journal_block=None, raw_rows=r.raw_rows
            )
            if r.last >= head - self.config.stream_backfill_blocks:
                seq = outbox.append(
                    conn,
                    event_items(conn, self.config.chain_id, r.events)
                    + notification_items(conn, self.config.chain_id, r.events),
                )
            else:  # history: the notifications are recorded (as read), nothing is streamed
                notification_items(conn, self.config.chain_id, r.events, live=False)
            self._set_checkpoint(conn, r.last, r.last_hash, genesis)
        self._woke(seq)
        self._report(r.last, head, len(r.events))
        self._refresh_statistics()

    def _refresh_statistics(self) -> None:
        """PostgreSQL: re-ANALYZE the tables each time the indexed total doubles during a catch-up.

        Bulk loading outruns autovacuum's statistics: a planner that still believes a table holds a
        hundred rows answers the batch's key lookups with a scan of every row of the chain (measured:
        50 s of a 70 s run went to one table's lookups). A handful of ANALYZE runs per catch-up fixes it.
        """
        if self.engine.dialect.name != "postgresql" or self.events_total < self._next_analyze:
            return
        with self.engine.begin() as conn:
            conn.execute(text("ANALYZE " + ", ".join([chain_events.name, *PROJECTION_TABLES])))
        self._next_analyze = 2 * self.events_total

    def _index_live_block(self, number: int, head: int, genesis: str) -> None:
        c = self.config
        header = self.rpc.header(number)
        with self.engine.begin() as conn:
            cp = self.checkpoint(conn)
            if cp is not None and cp.block_number == number - 1 and header.parentHash != cp.block_hash:
                conn.rollback()
                self._handle_reorg(number - 1)
                return
        logs = self.rpc.get_logs_at(addresses=list(c.addresses), block_hash=header.hash)
        events = self.reader.decode(logs)
        with self.engine.begin() as conn:
            self.projector.apply(conn, c.chain_id, events, journal_block=number)
            seq = outbox.append(
                conn, event_items(conn, c.chain_id, events) + notification_items(conn, c.chain_id, events)
            )
            conn.execute(
                delete(chain_blocks).where(
                    chain_blocks.c.chain_id == c.chain_id, chain_blocks.c.number == number
                )
            )
            conn.execute(
                insert(chain_blocks).values(
                    chain_id=c.chain_id, number=number, hash=header.hash, parent_hash=header.parentHash
                )
            )
            self._set_checkpoint(conn, number, header.hash, genesis)
        self._woke(seq)
        self._report(number, head, len(events))

    def _woke(self, seq: int | None) -> None:
        if seq is not None and self.wake is not None:
            self.wake(seq)

    # ------------------------------------------------------------ reorgs
    def _detect_reorg_at_checkpoint(self, cp: Checkpoint) -> None:
        """Catches a reorg that happened while the indexer was stopped (or between polls)."""
        header = self.rpc.header(cp.block_number)
        if header.hash != cp.block_hash:
            self._handle_reorg(cp.block_number)

    def _handle_reorg(self, below: int) -> None:
        """Block `below` (or one before it) is no longer canonical: find the common ancestor, roll back."""
        c = self.config
        with self.engine.begin() as conn:
            stored = {
                row.number: row.hash
                for row in conn.execute(
                    select(chain_blocks.c.number, chain_blocks.c.hash).where(
                        chain_blocks.c.chain_id == c.chain_id
                    )
                )
            }
        number = below
        while True:
            if number not in stored:
                raise ReorgTooDeep(number, c.finality_depth)
            if self.rpc.header(number).hash == stored[number]:
                break
            number -= 1
        log.warning("reorg on chain %s: rolling back to block %s", c.chain_id, number)
        with self.engine.begin() as conn:
            # Those who heard of the removed events hear of their removal, in the same transaction.
            seq = outbox.append(conn, outbox.retractions_above(conn, c.chain_id, number))
            rollback_to(conn, c.chain_id, number, stored[number])
        self._woke(seq)
        self.reorgs += 1

    def _prune(self, head: int) -> None:
        keep_from = head - self.config.finality_depth - 1
        with self.engine.begin() as conn:
            conn.execute(
                delete(chain_blocks).where(
                    chain_blocks.c.chain_id == self.config.chain_id, chain_blocks.c.number < keep_from
                )
            )
            conn.execute(
                delete(reorg_journal).where(
                    reorg_journal.c.chain_id == self.config.chain_id, reorg_journal.c.block_number < keep_from
                )
            )

    def _report(self, block: int, head: int, events: int) -> None:
        self.events_total += events
        if self.on_progress is not None:
            self.on_progress(
                Progress(block, head, events, self.events_total, time.monotonic() - self._started)
            )


def rollback_to(conn: Connection, chain_id: int, number: int, block_hash: str) -> None:
    """Undo every block above `number`: raw events, projections (from the journal), block hashes."""
    conn.execute(
        delete(chain_events).where(chain_events.c.chain_id == chain_id, chain_events.c.block_number > number)
    )
    entries = (
        conn.execute(
            select(reorg_journal)
            .where(reorg_journal.c.chain_id == chain_id, reorg_journal.c.block_number > number)
            .order_by(reorg_journal.c.block_number.desc(), reorg_journal.c.seq.desc())
        )
        .mappings()
        .all()
    )
    for entry in entries:
        table = PROJECTION_TABLES[entry["tbl"]]
        key = json.loads(entry["pk"])
        where = [
            table.c[name] == _restore(table, name, value)
            for name, value in zip(PK[entry["tbl"]], key, strict=True)
        ]
        conn.execute(delete(table).where(*where))
        if entry["old"] is not None:
            old = json.loads(entry["old"])
            conn.execute(insert(table).values({k: _restore(table, k, v) for k, v in old.items()}))
    conn.execute(
        delete(reorg_journal).where(
            reorg_journal.c.chain_id == chain_id, reorg_journal.c.block_number > number
        )
    )
    # Notifications of the removed blocks' events go with them (their stream items are retracted).
    conn.execute(
        delete(notifications).where(
            notifications.c.chain_id == chain_id, notifications.c.block_number > number
        )
    )
    conn.execute(
        delete(chain_blocks).where(chain_blocks.c.chain_id == chain_id, chain_blocks.c.number > number)
    )
    conn.execute(
        update(indexer_checkpoints)
        .where(indexer_checkpoints.c.chain_id == chain_id)
        .values(block_number=number, block_hash=block_hash)
    )


def _restore(table: Any, column: str, value: Any) -> Any:
    """JSON gave big ints back as strings; give the column its Python type again."""
    if isinstance(value, str) and column in ("amount", "total_amount"):
        return int(value)
    return value


def reset_chain(conn: Connection, chain_id: int) -> None:
    """Forget everything indexed for a chain (stale after a new genesis, or `--reset`)."""
    for table in [
        *PROJECTION_TABLES.values(),
        chain_events,
        chain_blocks,
        reorg_journal,
        indexer_checkpoints,
        notifications,
    ]:
        conn.execute(delete(table).where(table.c.chain_id == chain_id))
    outbox.forget_chain(conn, chain_id)


LEADER_LOCK_CLASS = 7423001  # pg_advisory_lock(class, chain id): one leader per chain and database


def acquire_leader_lock(
    engine: Engine,
    lock_path: str | None,
    *,
    chain_id: int,
    standby: threading.Event | None = None,
    poll: float = 1.0,
) -> Callable[[], None]:
    """Only one indexer writes a chain's read model: a PostgreSQL advisory lock keyed on the chain id
    (held by the leader's session, so it is released the moment the leader dies — even by SIGKILL),
    or a file lock beside the SQLite file. Returns a function that releases it.

    Without `standby` a held lock raises LeaderLockHeld at once; with it, this indexer waits as a
    standby, trying every `poll` seconds, until it becomes the leader or `standby` is set (stop).
    """
    from indexer.errors import LeaderLockHeld

    announced = False
    while True:
        release = _try_leader_lock(engine, lock_path, chain_id)
        if release is not None:
            if announced:
                log.warning("the leader's lock is free: this indexer leads chain %s now", chain_id)
            else:
                log.info("this indexer leads chain %s", chain_id)
            return release
        where = "the PostgreSQL advisory lock" if engine.dialect.name == "postgresql" else "the lock file"
        if standby is None or standby.is_set():
            raise LeaderLockHeld(f"another indexer of chain {chain_id} holds {where}; this one stands by")
        if not announced:
            log.warning("another indexer of chain %s holds %s: standing by", chain_id, where)
            announced = True
        if standby.wait(poll):
            raise LeaderLockHeld("stopped while standing by")


def _try_leader_lock(engine: Engine, lock_path: str | None, chain_id: int) -> Callable[[], None] | None:
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        key = {"cls": LEADER_LOCK_CLASS, "chain": chain_id % 2**31}
        got = conn.execute(text("SELECT pg_try_advisory_lock(:cls, :chain)"), key).scalar()
        conn.commit()
        if not got:
            conn.close()
            return None

        def release_pg() -> None:
            conn.execute(text("SELECT pg_advisory_unlock(:cls, :chain)"), key)
            conn.close()

        return release_pg
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path or f"indexer-{chain_id}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock.release


__all__ = ["Indexer", "IndexerConfig", "IndexerError", "Progress", "acquire_leader_lock", "reset_chain"]
