"""Card-payment bookkeeping owned by the API: quotes, processed Stripe events, and the durable job
queue the relayer works through. Kept on `DELETE /me` (financial records), with the reason stated."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, UniqueConstraint

from db.metadata import metadata
from db.types import Uint256

payment_quotes = Table(
    "payment_quotes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("chain_id", Integer, nullable=False),
    Column("client", String(42), nullable=False, index=True),
    Column("provider", String(42), nullable=False),
    Column("arbiter", String(42), nullable=False),
    Column("token", String(42), nullable=False),
    Column("amounts", Text, nullable=False),  # JSON list of base-unit strings
    Column("due_dates", Text, nullable=False),  # JSON list of ints
    Column("review_window", Integer, nullable=False),
    Column("terms_digest", String(66), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("checkout_session", String(255), nullable=True, unique=True),
    Column("status", String(16), nullable=False),  # quoted, checkout, paid, funded, failed, refunded
    Column("created_at", BigInteger, nullable=False),
)

stripe_events = Table(
    "stripe_events",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("received_at", BigInteger, nullable=False),
)

payment_jobs = Table(
    "payment_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # fund, dispute, refund
    Column("session_id", String(255), nullable=False),
    Column("quote_id", String(36), nullable=True),
    Column("status", String(16), nullable=False),  # pending, sending, sent, done, failed
    Column("attempts", Integer, nullable=False),
    Column("nonce", BigInteger, nullable=True),
    Column("tx_hash", String(66), nullable=True),
    Column("raw_tx", Text, nullable=True),  # the signed transaction, written before it is sent
    Column("last_error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("kind", "session_id", name="uq_payment_jobs_kind_session"),  # one fulfilment per payment
)

# Every transaction signed for a job, written before it is broadcast: a job whose transaction was
# replaced at the same nonce (a stuck one, re-sent with higher fees) may be mined by any of them,
# so each is looked for by its hash.
payment_tx_attempts = Table(
    "payment_tx_attempts",
    metadata,
    Column("tx_hash", String(66), primary_key=True),
    Column("job_id", Integer, nullable=False, index=True),
    Column("nonce", BigInteger, nullable=False),
    Column("raw_tx", Text, nullable=False),
    Column("max_fee", Uint256, nullable=False),  # wei per gas
    Column("tip", Uint256, nullable=False),
    Column("sent_at", BigInteger, nullable=False),
)
