"""Messages between the parties: inquiry threads on a listing and one thread per engagement.

Bodies are personal data: stored only as AES-GCM ciphertext (`body`: nonce + ciphertext, sealed
with the key named by `key_id`; see api/messages/sealing.py), never on-chain or on IPFS. A thread's
two parties are `party_a` (the learner / client: who wrote the inquiry) and `party_b` (the mentor /
provider).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from db.metadata import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid alias must be INTEGER

threads = Table(
    "message_threads",
    metadata,
    Column("id", _ID, Identity(), primary_key=True),
    Column("kind", String(10), nullable=False),  # inquiry | engagement
    Column("listing_id", Integer, nullable=True),  # inquiries
    Column("chain_id", Integer, nullable=True),  # engagement threads
    Column("engagement_id", BigInteger, nullable=True),
    Column("party_a", String(42), nullable=False, index=True),
    Column("party_b", String(42), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_message_at", BigInteger, nullable=False),  # creation until the first message
    UniqueConstraint("listing_id", "party_a", name="uq_message_threads_inquiry"),
    UniqueConstraint("chain_id", "engagement_id", name="uq_message_threads_engagement"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", _ID, Identity(), primary_key=True),
    Column("thread_id", BigInteger, nullable=False),
    Column("sender", String(42), nullable=False),
    Column("origin", String(8), nullable=False),  # chat | room (the session room's text chat)
    Column("key_id", String(32), nullable=True),  # null once deleted or erased
    Column("body", LargeBinary, nullable=True),  # nonce ‖ AES-GCM ciphertext of the UTF-8 text
    Column("created_at", BigInteger, nullable=False),
    Column("edited_at", BigInteger, nullable=True),
    Column("deleted_at", BigInteger, nullable=True),
    Column("deleted_by", String(8), nullable=True),  # author | erasure
    Index("ix_messages_thread", "thread_id", "id"),
    Index("ix_messages_sender", "sender"),
    sqlite_autoincrement=True,
)

# A file sent in a thread (images and PDFs, sniffed from the content). Its content and its file name
# are sealed like message bodies (the name can say as much as the text): the size and sniffed type
# are not secret. In the database, so every API replica serves it; never on IPFS.
attachments = Table(
    "message_attachments",
    metadata,
    Column("id", _ID, Identity(), primary_key=True),
    Column("message_id", BigInteger, nullable=False, index=True),
    Column("thread_id", BigInteger, nullable=False),
    Column("uploader", String(42), nullable=False, index=True),
    Column("media_type", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("name", LargeBinary, nullable=False),  # sealed file name
    Column("content", LargeBinary, nullable=False),  # sealed bytes
    Column("created_at", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# How far each party has read a thread (their read receipt), for unread counts.
thread_reads = Table(
    "message_thread_reads",
    metadata,
    Column("thread_id", BigInteger, primary_key=True),
    Column("address", String(42), primary_key=True),
    Column("last_read_id", BigInteger, nullable=False),
    Column("read_at", BigInteger, nullable=False),
)

# `blocker` accepts no more inquiries or messages from `blocked`.
user_blocks = Table(
    "user_blocks",
    metadata,
    Column("blocker", String(42), primary_key=True),
    Column("blocked", String(42), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_user_blocks_blocked", "blocked"),
)

# A party's report of a message to the operators.
message_reports = Table(
    "message_reports",
    metadata,
    Column("id", _ID, Identity(), primary_key=True),
    Column("message_id", BigInteger, nullable=False),
    Column("reporter", String(42), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("message_id", "reporter", name="uq_message_reports_once"),
)

# In a dispute, what a party chose to show the arbiter: a message (its text as it was when shared,
# sealed like the original) or the session room's attendance. The arbiter sees only these rows.
shared_evidence = Table(
    "shared_evidence",
    metadata,
    Column("id", _ID, Identity(), primary_key=True),
    Column("chain_id", Integer, nullable=False),
    Column("engagement_id", BigInteger, nullable=False),
    Column("shared_by", String(42), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # message | attendance
    Column("message_id", BigInteger, nullable=True),
    Column("sender", String(42), nullable=True),  # the message's author
    Column("sent_at", BigInteger, nullable=True),
    Column("key_id", String(32), nullable=True),
    Column("body", LargeBinary, nullable=True),  # sealed copy of the text
    Column("attendance", Text, nullable=True),  # JSON: [{booking_id, address, joined_at, left_at}]
    Column("created_at", BigInteger, nullable=False),
    # A shared message's attachment, copied sealed as it was (deleting the message later keeps it).
    Column("file_name", LargeBinary, nullable=True),
    Column("file_type", String(40), nullable=True),
    Column("file_size", Integer, nullable=True),
    Column("file", LargeBinary, nullable=True),
    Index("ix_shared_evidence_engagement", "chain_id", "engagement_id"),
    UniqueConstraint("chain_id", "engagement_id", "shared_by", "message_id", name="uq_shared_evidence_once"),
    sqlite_autoincrement=True,
)
