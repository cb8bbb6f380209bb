"""Card-payment bookkeeping owned by the API: quotes, each provider's processed webhook events, card
refunds, and the durable job queue the relayer works through. Kept on `DELETE /me` (financial
records), with the reason stated."""

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
    Column("amount_cents", BigInteger, nullable=False),  # minor units of `currency` (cents, paise)
    Column("currency", String(3), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    # The provider's key of the payment, which its events name and jobs key on: a Stripe Checkout
    # Session; a Razorpay order (the payment link's id until the first event names the order).
    Column("checkout_session", String(255), nullable=True, unique=True),
    Column("status", String(16), nullable=False),  # quoted, checkout, paid, funded, failed, refunded
    Column("created_at", BigInteger, nullable=False),
    Column("method", String(16), nullable=False, server_default="stripe"),  # the card provider
    Column("hosted_page", String(255), nullable=True),  # the Checkout Session, the payment link
    Column("provider_charge", String(255), nullable=True, index=True),  # payment intent, pay_ id
    Column("dispute_status", String(16), nullable=True),  # open, lost, won
    Column("booking_id", String(66), nullable=True, index=True),  # a session booking paid by card
)

# Each provider's webhook events, recorded once in the transaction of what they cause.
payment_events = Table(
    "payment_events",
    metadata,
    Column("provider", String(16), primary_key=True),
    Column("id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("received_at", BigInteger, nullable=False),
)

# Money back to a card: one row per reason (`key`), written before the provider is asked, so a crash
# never refunds twice (the provider is asked again with the same key, which returns the first).
card_refunds = Table(
    "card_refunds",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("payment", String(255), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),  # minor units
    Column("refund_id", String(255), nullable=True, unique=True),
    Column("status", String(16), nullable=False),  # pending, requested, processed
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
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

# What the escrow credited back to the card relayer for a card-funded engagement (a refunded
# milestone: a declined or withdrawn request, a cancellation, a dispute's default rule; the payer's
# share of an arbiter's resolution), keyed on the event: each becomes one proportional refund to the
# card once the relayer withdrew it — or is kept when the card already has the money back (a
# chargeback, a refund from the provider's dashboard).
card_credits = Table(
    "card_credits",
    metadata,
    Column("key", String(100), primary_key=True),  # chain id : tx hash : log index
    Column("payment", String(255), nullable=False, index=True),
    Column("engagement_id", BigInteger, nullable=False),  # its token is the engagement's
    Column("block_number", BigInteger, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("amount", Uint256, nullable=False),  # token base units
    Column("refund_minor", BigInteger, nullable=False),  # its share of what the card paid
    Column("status", String(16), nullable=False),  # pending, refunded, kept
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
