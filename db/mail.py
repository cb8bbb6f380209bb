"""E-mail notifications: a wallet's address (personal data: never on-chain or on IPFS, in export and
erasure), whether it was confirmed, and which notifications were mailed (once each)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from db.metadata import metadata

email_addresses = Table(
    "email_addresses",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("email", String(254), nullable=False),
    # sha256 of the confirmation link's token; None once used.
    Column("confirm_hash", String(64), nullable=True, unique=True),
    # The one-click link's token, kept as is (every mail carries it; it can only unsubscribe).
    Column("unsubscribe_token", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("confirmed_at", BigInteger, nullable=True),
    Column("unsubscribed_at", BigInteger, nullable=True),
    # Notifications with a higher id are mailed: older news (before the address was confirmed) is not.
    Column("mailed_after", BigInteger, nullable=False),
)

# One row per notification mailed, written before the mail goes out: a crash in between sends it at
# most once, and two workers (replicas) never both send it.
mail_sent = Table(
    "mail_sent",
    metadata,
    Column("notification_id", BigInteger, primary_key=True, autoincrement=False),
    Column("address", String(42), nullable=False, index=True),
    Column("sent_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # sending, sent, failed
    Column("error", Text, nullable=True),
)

# Each confirmation mail sent, by the recipient's sha256 (no wallet: nothing links it to a person),
# kept a day: the per-address and global limits on confirmation mails, across replicas and after the
# address row was removed and added again.
confirmation_mails = Table(
    "confirmation_mails",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("recipient_hash", String(64), nullable=False, index=True),
    Column("sent_at", BigInteger, nullable=False, index=True),
)
