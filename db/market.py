"""Off-chain marketplace data owned by the API: profiles, listings, dispute evidence. Nothing here
goes on-chain; `DELETE /me` erases a wallet's rows."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, LargeBinary, Numeric, String, Table, Text

from db.metadata import metadata

profiles = Table(
    "profiles",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("display_name", String(80), nullable=False),
    Column("bio", Text, nullable=False),
    Column("skills", Text, nullable=False),  # JSON list of slugs
    Column("hourly_rate", Numeric(12, 2), nullable=True),
    Column("languages", Text, nullable=False),  # JSON list of ISO 639-1 codes
    Column("timezone", String(64), nullable=True),
    Column("avatar_cid", String(100), nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

listings = Table(
    "listings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(42), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # offer | request
    Column("skill", String(64), nullable=False),
    Column("title", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
    Column("currency", String(8), nullable=False),
    Column("languages", Text, nullable=False),  # JSON list
    Column("timezone", String(64), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # A session offering (all null for a custom engagement): minutes, except the horizon in days.
    Column("session_minutes", Integer, nullable=True),
    Column("buffer_minutes", Integer, nullable=True),
    Column("notice_minutes", Integer, nullable=True),
    Column("horizon_days", Integer, nullable=True),
    Column("step_minutes", Integer, nullable=True),
    Column("booking_mode", String(8), nullable=True),  # instant | request
    # The cancellation policy: a learner may cancel free of charge until this many hours before.
    Column("free_cancel_hours", Integer, nullable=True),
    Index("ix_listings_skill_active", "skill", "active"),
)

evidence = Table(
    "dispute_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chain_id", Integer, nullable=False),
    Column("engagement_id", BigInteger, nullable=False),
    Column("author", String(42), nullable=False),
    Column("cid", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_evidence_engagement", "chain_id", "engagement_id"),
)

# A profile picture, uploaded by its owner: kept here (erasable with the rest of the profile), never on
# IPFS — a face is personal data. Served publicly at GET /users/{address}/avatar.
avatars = Table(
    "avatars",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("media_type", String(20), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
