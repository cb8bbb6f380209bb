"""The outbox: every item a user's live stream carries, written in the same transaction as its cause.

`outbox.seq` is the stream's SSE id. `outbox_audience` says whom an item concerns (one row per
address), so a reconnecting client's replay is an index range scan, and a reorg's retraction
reaches exactly those who heard the event.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Identity, Index, Integer, String, Table, Text

from db.metadata import metadata

outbox = Table(
    "outbox",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("kind", String(16), nullable=False),  # chain_event, retraction, notification, message, signal
    Column("chain_id", Integer, nullable=True),
    Column("block_number", BigInteger, nullable=True),  # events: for reorg retractions
    Column("created_at", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),  # JSON; no size limit (a room signal can be 20 KB)
    Index("ix_outbox_block", "chain_id", "block_number"),
    Index("ix_outbox_created", "created_at"),
    sqlite_autoincrement=True,  # never reuse a sequence, even once every row was pruned
)

outbox_audience = Table(
    "outbox_audience",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Index("ix_outbox_audience_seq", "seq"),  # the fan-out reads an item's audience by its sequence
)
