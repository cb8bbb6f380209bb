"""The chain read model, owned by the indexer: raw events, block hashes, checkpoints and projections.

Token amounts are uint256 (db.types.Uint256). Every projection row is keyed by chain id, so one
database can follow several chains.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, false

from db.metadata import metadata
from db.types import Uint256

chain_events = Table(
    "chain_events",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("block_hash", String(66), primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("address", String(42), nullable=False),
    Column("event", String(64), nullable=False),
    Column("args", Text, nullable=False),  # JSON; uint256 values as decimal strings
    Index("ix_chain_events_block", "chain_id", "block_number"),
)

chain_blocks = Table(  # hashes of the unfinalised window, for reorg detection
    "chain_blocks",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("number", BigInteger, primary_key=True),
    Column("hash", String(66), nullable=False),
    Column("parent_hash", String(66), nullable=False),
)

indexer_checkpoints = Table(
    "indexer_checkpoints",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("genesis_hash", String(66), nullable=False),
)

reorg_journal = Table(  # previous versions of projection rows written in unfinalised blocks
    "reorg_journal",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("block_number", BigInteger, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("tbl", String(40), nullable=False),
    Column("pk", Text, nullable=False),  # JSON list
    Column("old", Text, nullable=True),  # JSON row, or NULL when the row did not exist
)

escrow_config = Table(
    "escrow_config",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("treasury", String(42), nullable=True),
    Column("fee_bps", Integer, nullable=True),
    Column("paused", Boolean, nullable=False, default=False),
)

engagements = Table(
    "engagements",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("id", BigInteger, primary_key=True),
    Column("client", String(42), nullable=False, index=True),
    Column("provider", String(42), nullable=False, index=True),
    Column("payer", String(42), nullable=False),
    Column("token", String(42), nullable=False),
    Column("arbiter", String(42), nullable=False, index=True),
    Column("fee_bps", Integer, nullable=False),
    Column("review_window", Integer, nullable=False),
    Column("terms_digest", String(66), nullable=False),
    Column("external_ref", String(66), nullable=False),
    Column("total_amount", Uint256, nullable=False),
    Column("open_milestones", Integer, nullable=False),
    Column("paid", Boolean, nullable=False),
    Column("disputed_at", BigInteger, nullable=True),
    # requested (waiting for the provider), active, disputed, settled, withdrawn (by the client before
    # acceptance), declined (by the provider before acceptance)
    Column("status", String(16), nullable=False),
    Column("created_block", BigInteger, nullable=False),
    Column("created_tx", String(66), nullable=False),
    Column("accepted", Boolean, nullable=False, server_default=false()),  # the provider agreed
    Column("offer_nonce", Uint256, nullable=True),  # set when funded from the provider's signed offer
    Column("booking_ref", String(66), nullable=True),  # OfferUsed's bookingRef (off-chain booking id)
    Column("starts_at", BigInteger, nullable=True),  # a session offer's start
)

milestones = Table(
    "milestones",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("engagement_id", BigInteger, primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("amount", Uint256, nullable=False),
    Column("due_date", BigInteger, nullable=False),
    Column("releasable_at", BigInteger, nullable=True),
    Column("state", String(12), nullable=False),  # funded, submitted, released, refunded, resolved
    Column("deliverable_digest", String(66), nullable=True),
    Column("frozen", Boolean, nullable=False, server_default=false()),  # covered by the open dispute
    Column("provider_share_bps", Integer, nullable=True),  # resolved: the arbiter's provider share
)

escrow_owed = Table(
    "escrow_owed",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("token", String(42), primary_key=True),
    Column("account", String(42), primary_key=True),
    Column("amount", Uint256, nullable=False),
)

# Each Withdrawn event, for a wallet's withdrawal history (escrow_owed keeps only what is owed now).
withdrawals = Table(
    "withdrawals",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("block_number", BigInteger, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("account", String(42), nullable=False),
    Column("token", String(42), nullable=False),
    Column("recipient", String(42), nullable=False),  # the account itself, or where it sent the funds
    Column("amount", Uint256, nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Index("ix_withdrawals_account", "chain_id", "account", "block_number"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("engagement_id", BigInteger, primary_key=True),
    Column("reviewer", String(42), primary_key=True),
    Column("subject", String(42), nullable=False, index=True),
    Column("role", String(8), nullable=False),  # provider, client (the subject's role)
    Column("rating", Integer, nullable=False),
    Column("comment_digest", String(66), nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("tx_hash", String(66), nullable=False),
)

reputation = Table(
    "reputation",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("subject", String(42), primary_key=True),
    Column("provider_count", Integer, nullable=False),
    Column("provider_sum", Integer, nullable=False),
    Column("client_count", Integer, nullable=False),
    Column("client_sum", Integer, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("token_id", String(78), primary_key=True),  # decimal; = the metadata digest as a number
    Column("holder", String(42), nullable=False, index=True),
    Column("issuer", String(42), nullable=False, index=True),
    Column("skill_id", String(66), nullable=False, index=True),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("engagement_id", BigInteger, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("revoke_reason", String(66), nullable=True),
    Column("burned", Boolean, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("tx_hash", String(66), nullable=False),
)

issuers = Table(
    "issuers",
    metadata,
    Column("chain_id", Integer, primary_key=True),
    Column("address", String(42), primary_key=True),
    Column("accredited", Boolean, nullable=False),
    Column("changed_block", BigInteger, nullable=False),
)

PROJECTION_TABLES = {
    t.name: t
    for t in (
        escrow_config,
        engagements,
        milestones,
        escrow_owed,
        withdrawals,
        reviews,
        reputation,
        credentials,
        issuers,
    )
}

# Indexes that only speed up reads (none is unique): a long catch-up drops them and builds them again
# at the end, which costs a fraction of maintaining them row by row (indexer/runner.py).
SECONDARY_INDEXES = tuple(
    index for table in (chain_events, *PROJECTION_TABLES.values()) for index in sorted(table.indexes, key=str)
)
if any(index.unique for index in SECONDARY_INDEXES):  # dropping one would drop a constraint
    raise RuntimeError("a unique index among the read model's secondary indexes")
