"""Off-chain credential data owned by the API: issuer profiles, vouchers awaiting redemption, and
presentation challenges. Issuer profiles are public by design (organisations, not people)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from db.metadata import metadata

issuer_profiles = Table(
    "issuer_profiles",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("website", String(200), nullable=True),
    Column("logo_cid", String(100), nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    # An admin confirmed this exact name belongs to this issuer; any other name is self-declared.
    Column("name_verified_by", String(42), nullable=True),
    Column("name_verified_at", BigInteger, nullable=True),
)

vouchers = Table(
    "credential_vouchers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chain_id", Integer, nullable=False),
    Column("issuer", String(42), nullable=False, index=True),
    Column("recipient", String(42), nullable=False, index=True),
    Column("voucher", Text, nullable=False),  # JSON of the EIP-712 message fields
    Column("metadata_cid", String(100), nullable=False),
    Column("signature", Text, nullable=True),  # contract wallets (passkeys, multisigs) sign in kilobytes
    Column("created_at", BigInteger, nullable=False),
)

presentation_challenges = Table(
    "presentation_challenges",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
)
