"""The session room: who joined a booked session's room and when (shown to both parties). Media never
passes through the server (WebRTC, peer to peer); signals pass through the outbox, sealed."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Identity, Index, Integer, String, Table

from db.metadata import metadata

room_attendance = Table(
    "room_attendance",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("booking_id", String(66), nullable=False),
    Column("address", String(42), nullable=False),
    Column("joined_at", BigInteger, nullable=False),
    Column("left_at", BigInteger, nullable=True),  # null while connected (or if the replica died)
    Index("ix_room_attendance_booking", "booking_id", "id"),
    Index("ix_room_attendance_address", "address"),
)
