"""Writing and reading the outbox (db/outbox.py).

Writers append inside the transaction of the item's cause, so an item exists exactly when its cause
committed. Sequences must become visible in order, or a reader that has seen 8 would skip a 7 that
commits later: on PostgreSQL every writer takes one transaction-scoped advisory lock before taking
a sequence (held until commit, so commits happen in sequence order); SQLite has a single writer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from db.outbox import outbox, outbox_audience

# pg_advisory_xact_lock key of outbox writers ("skillchain outbox" in ASCII, folded to 63 bits).
_WRITER_LOCK = int.from_bytes(b"sc-outbx", "big") & (2**63 - 1)
ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class OutboxItem:
    """One item for the streams of its audience (addresses, EIP-55)."""

    kind: str  # chain_event, retraction, notification, message, signal
    audience: frozenset[str]
    payload: dict[str, Any]
    chain_id: int | None = None
    block_number: int | None = None


@dataclass(frozen=True)
class StoredItem:
    """An item as read back: its sequence is the SSE id."""

    seq: int
    kind: str
    payload: dict[str, Any]
    audience: frozenset[str] = field(default_factory=frozenset)
    created_at: int = 0
    raw: str = ""  # the payload's JSON text as stored (compact: no newline)

    @cached_property
    def frame(self) -> bytes:
        """The item as one server-sent event, encoded once however many streams it goes to."""
        data = self.raw or json.dumps(self.payload, separators=(",", ":"))
        return f"id: {self.seq}\nevent: {self.kind}\ndata: {data}\n\n".encode()


def append(conn: Connection, items: Sequence[OutboxItem], *, now: int | None = None) -> int | None:
    """Write `items` in the caller's transaction; the last sequence taken (None: nothing written)."""
    items = [i for i in items if i.audience - {ZERO}]
    if not items:
        return None
    created = int(time.time()) if now is None else now
    if conn.dialect.name == "postgresql" and len(items) == 1:
        return _append_one_postgres(conn, items[0], created)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITER_LOCK})
    # One multi-row INSERT … RETURNING, its sequences in the order of `items` (a statement per item was
    # a round trip each while holding the writers' lock: 200 room signals in one batch, bench/messages.py).
    seqs = (
        conn.execute(
            insert(outbox).returning(outbox.c.seq, sort_by_parameter_order=True),
            [
                {
                    "kind": item.kind,
                    "chain_id": item.chain_id,
                    "block_number": item.block_number,
                    "created_at": created,
                    "payload": json.dumps(item.payload, separators=(",", ":")),
                }
                for item in items
            ],
        )
        .scalars()
        .all()
    )
    audience_rows: list[dict[str, Any]] = [
        {"address": a, "seq": seq}
        for item, seq in zip(items, seqs, strict=True)
        for a in sorted(item.audience - {ZERO})
    ]
    last = int(seqs[-1])
    conn.execute(insert(outbox_audience), audience_rows)
    return last


# One item (a message, a signal, most notifications) in one round trip: the writers' lock, the item and
# its audience. Three statements were three round trips while holding the lock (bench/messages.py).
_APPEND_ONE_POSTGRES = text(
    """
    WITH writer AS MATERIALIZED (SELECT pg_advisory_xact_lock(:key)),
    item AS (
        INSERT INTO outbox (kind, chain_id, block_number, created_at, payload)
        SELECT CAST(:kind AS varchar), CAST(:chain_id AS integer), CAST(:block_number AS bigint),
               CAST(:created_at AS bigint), CAST(:payload AS text)
        FROM writer
        RETURNING seq
    ),
    audience AS (
        INSERT INTO outbox_audience (address, seq)
        SELECT address, item.seq FROM item, unnest(CAST(:audience AS varchar[])) AS address
    )
    SELECT seq FROM item
    """
)


def _append_one_postgres(conn: Connection, item: OutboxItem, created: int) -> int:
    return int(
        conn.execute(
            _APPEND_ONE_POSTGRES,
            {
                "key": _WRITER_LOCK,
                "kind": item.kind,
                "chain_id": item.chain_id,
                "block_number": item.block_number,
                "created_at": created,
                "payload": json.dumps(item.payload, separators=(",", ":")),
                "audience": sorted(item.audience - {ZERO}),
            },
        ).scalar_one()
    )


def head(conn: Connection) -> int:
    """The highest committed sequence (0 when the outbox is empty)."""
    return int(conn.execute(select(func.max(outbox.c.seq))).scalar() or 0)


def oldest(conn: Connection) -> int:
    """The lowest sequence still kept (0 when the outbox is empty)."""
    return int(conn.execute(select(func.min(outbox.c.seq))).scalar() or 0)


def read_after(conn: Connection, after: int, limit: int = 500) -> list[StoredItem]:
    """Items with a sequence above `after`, in order, each with its audience (for the fan-out)."""
    rows = conn.execute(
        select(outbox.c.seq, outbox.c.kind, outbox.c.payload, outbox.c.created_at)
        .where(outbox.c.seq > after)
        .order_by(outbox.c.seq)
        .limit(limit)
    ).all()
    if not rows:
        return []
    audiences: dict[int, set[str]] = {}
    for seq, address in conn.execute(
        select(outbox_audience.c.seq, outbox_audience.c.address).where(
            outbox_audience.c.seq.between(rows[0].seq, rows[-1].seq)
        )
    ):
        audiences.setdefault(int(seq), set()).add(address)
    return [
        StoredItem(
            int(r.seq),
            r.kind,
            json.loads(r.payload),
            frozenset(audiences.get(int(r.seq), ())),
            int(r.created_at),
            r.payload,
        )
        for r in rows
    ]


def replay(conn: Connection, address: str, after: int, limit: int = 1000) -> list[StoredItem]:
    """What `address` missed since `after` (a reconnect's Last-Event-ID), in order."""
    rows = conn.execute(
        select(outbox.c.seq, outbox.c.kind, outbox.c.payload)
        .join(outbox_audience, outbox_audience.c.seq == outbox.c.seq)
        .where(outbox_audience.c.address == address, outbox.c.seq > after)
        .order_by(outbox.c.seq)
        .limit(limit)
    ).all()
    return [StoredItem(int(r.seq), r.kind, json.loads(r.payload), raw=r.payload) for r in rows]


def retractions_above(conn: Connection, chain_id: int, block_number: int) -> list[OutboxItem]:
    """The retraction of every event item above `block_number` (a reorg removed those blocks), for
    the same audience that heard the event."""
    rows = conn.execute(
        select(outbox.c.seq, outbox.c.payload).where(
            outbox.c.kind.in_(("chain_event", "notification")),
            outbox.c.chain_id == chain_id,
            outbox.c.block_number > block_number,
        )
    ).all()
    if not rows:
        return []
    seqs = [int(r.seq) for r in rows]
    # Retracted once: a later reorg at these heights must not retract them again.
    conn.execute(update(outbox).where(outbox.c.seq.in_(seqs)).values(block_number=None))
    audiences: dict[int, set[str]] = {}
    for seq, address in conn.execute(
        select(outbox_audience.c.seq, outbox_audience.c.address).where(outbox_audience.c.seq.in_(seqs))
    ):
        audiences.setdefault(int(seq), set()).add(address)
    out = []
    for r in rows:
        event = json.loads(r.payload)
        out.append(
            OutboxItem(
                kind="retraction",
                audience=frozenset(audiences.get(int(r.seq), ())),
                payload={
                    "retracts": int(r.seq),
                    "name": event.get("name"),
                    "chain_id": chain_id,
                    "block": event.get("block"),
                    "tx": event.get("tx"),
                    "log_index": event.get("log_index"),
                    "engagement_id": event.get("engagement_id"),
                },
                chain_id=chain_id,
            )
        )
    return out


def forget_chain(conn: Connection, chain_id: int) -> None:
    """A chain's items go with its read model (a new genesis): none of them is true any more."""
    seqs = select(outbox.c.seq).where(outbox.c.chain_id == chain_id).scalar_subquery()
    conn.execute(delete(outbox_audience).where(outbox_audience.c.seq.in_(seqs)))
    conn.execute(delete(outbox).where(outbox.c.chain_id == chain_id))


def prune(conn: Connection, *, older_than: int) -> int:
    """Delete items created before `older_than` (and their audiences); how many went."""
    cut = conn.execute(select(func.max(outbox.c.seq)).where(outbox.c.created_at < older_than)).scalar()
    if cut is None:
        return 0
    conn.execute(delete(outbox_audience).where(outbox_audience.c.seq <= cut))
    return int(conn.execute(delete(outbox).where(outbox.c.seq <= cut)).rowcount or 0)


def json_safe(value: Any) -> Any:
    """Integers beyond JavaScript's 2^53 as decimal strings (amounts, token ids), the rest unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > 2**53 - 1:
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def addresses_in(values: Iterable[Any]) -> set[str]:
    """The EIP-55 address strings among decoded event arguments."""
    return {v for v in values if isinstance(v, str) and len(v) == 42 and v.startswith("0x")} - {ZERO}
