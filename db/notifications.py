"""In-app notifications: one row per user and step that concerns them (a request came in, a
milestone was submitted, a review received, ...), with read state. Written by the indexer in the
transaction of the events they come from; removed with those events on a reorg. They hold only
kinds, ids and wallets — the dApp words them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Identity, Index, Integer, String, Table, Text

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
