"""In-app notifications: one row per user and step that concerns them (a request came in, a
milestone was submitted, a review received, ...), with read state. Written by the indexer in the
transaction of the events they come from; removed with those events on a reorg. They hold only
kinds, ids and wallets — the dApp words them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Identity, Index, Integer, String, Table, Text, insert

from db.metadata import metadata

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("address", String(42), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("chain_id", Integer, nullable=True),
    Column("block_number", BigInteger, nullable=True),  # chain-made ones: for reorgs
    Column("engagement_id", BigInteger, nullable=True),
    Column("payload", Text, nullable=False),  # JSON: ids, indexes, the acting wallet
    Column("created_at", BigInteger, nullable=False),
    Column("read_at", BigInteger, nullable=True),
    Index("ix_notifications_address", "address", "id"),
    Index("ix_notifications_block", "chain_id", "block_number"),
    sqlite_autoincrement=True,
)

# Reminders the app made itself (not from a chain event), once per booking and kind: the key keeps
# API replicas, which all run the reminder pass, from reminding twice.
reminders_sent = Table(
    "reminders_sent",
    metadata,
    Column("booking_id", String(66), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("sent_at", BigInteger, nullable=False),
)


def add(
    conn: Connection,
    address: str,
    payload: dict[str, Any],
    *,
    now: int,
    chain_id: int | None,
    engagement_id: int | None,
    block_number: int | None = None,
    read: bool = False,
) -> int:
    """One notification for `address` (its kind is `payload["kind"]`), in the caller's transaction;
    its id (the stream item carries it)."""
    return int(
        conn.execute(
            insert(notifications)
            .values(
                address=address,
                kind=payload["kind"],
                chain_id=chain_id,
                block_number=block_number,
                engagement_id=engagement_id,
                payload=json.dumps(payload, separators=(",", ":")),
                created_at=now,
                read_at=now if read else None,
            )
            .returning(notifications.c.id)
        ).scalar_one()
    )
