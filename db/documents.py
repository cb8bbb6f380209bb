"""The documents the API stored and pinned on IPFS, so `skillchain ipfs gc` can tell which are still
needed. No owner column: who wrote a document is in the document and its table (evidence, vouchers);
this is bookkeeping of the store only."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from db.metadata import metadata

stored_documents = Table(
    "stored_documents",
    metadata,
    Column("cid", String(100), primary_key=True),
    Column("digest", String(66), nullable=False, index=True),  # the 0x sha2-256 the contracts store
    # terms, deliverable, evidence, comment, credential, voucher, revocation, offer, checkout
    Column("kind", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Kept at least until then: an offer's or voucher's validity (only their signatures name them),
    # and, once gc saw the dispute settled, the evidence retention.
    Column("keep_until", BigInteger, nullable=True),
    Column("chain_id", Integer, nullable=True),  # evidence: its engagement
    Column("engagement_id", BigInteger, nullable=True),
    Index("ix_stored_documents_engagement", "chain_id", "engagement_id"),
)
