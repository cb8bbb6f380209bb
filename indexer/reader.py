"""Reading finalised history: eth_getLogs over adaptive block ranges, fetched ahead by a bounded pool,
decoded into events. Runs in the indexer's process, or in a helper process during a long catch-up
(indexer/offload.py), with the same code either way."""

from __future__ import annotations

import gc
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

from indexer.decode import DecodedEvent, EventSpec, event_specs, raw_event_rows
from indexer.errors import RangeTooLarge
from indexer.rpc import RpcClient, RpcLog

GC_THRESHOLDS = (100_000, 50, 100)


def collect_range_garbage() -> None:
    """After a range is read: collect the reference cycles it left (httpx's, holding answers of
    megabytes) while they are young. With the relaxed thresholds they reached the old generation and,
    measured, grew the read helper by ~1 MB per 1,000 events (117 MB instead of 335 MB on 300k)."""
    gc.collect(1)


def relax_gc() -> None:
    """Collect garbage less often while indexing (process-wide; never more often than before).

    A range allocates tens of thousands of small containers that all stay alive until it is written,
    so CPython's default (a young pass every 700 allocations, older ones after 10 of those) spends
    its time re-scanning live objects: measured, half of decoding at the defaults and still a tenth
    of a catch-up at (20,000, 10, 10). The indexer makes few reference cycles."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(now, relaxed) for now, relaxed in zip(current, GC_THRESHOLDS, strict=False)))


@dataclass(frozen=True)
class RangePolicy:
    """How eth_getLogs ranges are chosen (part of IndexerConfig; picklable for the helper process)."""

    addresses: dict[str, str]  # address -> contract name
    chain_id: int
    max_range: int
    initial_range: int
    target_logs: int
    concurrency: int


class DecodedRange(NamedTuple):
    """The decoded events of blocks [first, last], their raw-event rows, and the hash of `last` (the
    checkpoint after them)."""

    first: int
    last: int
    last_hash: str
    events: list[DecodedEvent]
    raw_rows: list[tuple[Any, ...]]


def decoder_table(abis: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str], EventSpec]:
    """(contract, topic0 hex) -> decoder; same-named events of two contracts stay apart."""
    return {
        (name, "0x" + topic0.hex()): spec
        for name, abi in abis.items()
        for topic0, spec in event_specs({name: abi}).items()
    }


class RangeReader:
    """Fetches and decodes consecutive ranges; the range grows while answers are small and shrinks
    when they are large or the provider refuses them."""

    def __init__(self, rpc: RpcClient, policy: RangePolicy, abis: dict[str, list[dict[str, Any]]]) -> None:
        self.rpc = rpc
        self.policy = policy
        self.specs = decoder_table(abis)
        self.range = policy.initial_range

    def decode(self, logs: list[RpcLog]) -> list[DecodedEvent]:
        out: list[DecodedEvent] = []
        append = out.append
        chain_id = self.policy.chain_id
        names = self.policy.addresses
        specs = self.specs
        for lg in logs:
            if lg.removed or not lg.topics:
                continue
            contract = names.get(lg.address.lower())
            if contract is None:
                continue
            spec = specs.get((contract, lg.topics[0].lower()))
            if spec is None:
                continue
            append(
                DecodedEvent(
                    chain_id,
                    int(lg.blockNumber, 16),
                    lg.blockHash,
                    int(lg.logIndex, 16),
                    lg.transactionHash,
                    lg.address,
                    contract,
                    spec.name,
                    spec.decode_hex(lg.topics, lg.data),
                )
            )
        return out

    def fetch(self, start: int, end: int) -> list[RpcLog]:
        """Logs of [start, end], splitting the range whenever the provider says it is too large."""
        try:
            return self.rpc.get_logs(addresses=list(self.policy.addresses), from_block=start, to_block=end)
        except RangeTooLarge:
            if start == end:
                raise
            self.range = max(1, (end - start + 1) // 2)
            mid = (start + end) // 2
            return self.fetch(start, mid) + self.fetch(mid + 1, end)

    def raw_ranges(self, start: int, end: int) -> Generator[tuple[int, int, list[RpcLog]], None, None]:
        """Consecutive ranges' logs, fetched ahead by a bounded pool, yielded in order."""
        p = self.policy
        pending: list[tuple[int, int, Future[list[RpcLog]]]] = []
        with ThreadPoolExecutor(max_workers=p.concurrency, thread_name_prefix="getlogs") as pool:
            nxt = start
            while nxt <= end or pending:
                while nxt <= end and len(pending) < p.concurrency:
                    to = min(end, nxt + self.range - 1)
                    pending.append((nxt, to, pool.submit(self.fetch, nxt, to)))
                    nxt = to + 1
                a, b, fut = pending.pop(0)
                logs = fut.result()  # raise here, in order
                self.adapt(len(logs))
                yield a, b, logs

    def adapt(self, answered: int) -> None:
        """Size the next ranges after an answer of `answered` logs: in proportion when it was too
        large (a dense chain's first answer can be many times the target), doubling when small."""
        p = self.policy
        if answered > p.target_logs:
            self.range = max(1, min(self.range // 2, self.range * p.target_logs // answered))
        elif answered < p.target_logs // 4:
            self.range = min(p.max_range, self.range * 2)

    def decoded(self, first: int, last: int, logs: list[RpcLog]) -> DecodedRange:
        events = self.decode(logs)
        return DecodedRange(first, last, self.rpc.header(last).hash, events, raw_event_rows(events))

    def ranges(self, start: int, end: int) -> Generator[DecodedRange, None, None]:
        for a, b, logs in self.raw_ranges(start, end):
            yield self.decoded(a, b, logs)
