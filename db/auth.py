"""Tables owned by sign-in: single-use nonces and sessions (only a hash of each session token)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from db.metadata import metadata

auth_nonces = Table(
    "auth_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),  # unix seconds
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the bearer token
    Column("address", String(42), nullable=False, index=True),
    Column("chain_id", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)
