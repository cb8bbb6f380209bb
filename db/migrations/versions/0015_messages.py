"""messages: threads, encrypted messages, read receipts, blocks and reports

Revision ID: 0015_messages
Revises: 0014_calendar_feeds
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_messages"
down_revision = "0014_calendar_feeds"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_threads",
        sa.Column("id", _ID, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("engagement_id", sa.BigInteger(), nullable=True),
        sa.Column("party_a", sa.String(length=42), nullable=False, index=True),
        sa.Column("party_b", sa.String(length=42), nullable=False, index=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_message_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("listing_id", "party_a", name="uq_message_threads_inquiry"),
        sa.UniqueConstraint("chain_id", "engagement_id", name="uq_message_threads_engagement"),
    )
    op.create_table(
        "messages",
        sa.Column("id", _ID, sa.Identity(), primary_key=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("edited_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_by", sa.String(length=8), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_messages_thread", "messages", ["thread_id", "id"])
    op.create_index("ix_messages_sender", "messages", ["sender"])
    op.create_table(
        "message_thread_reads",
        sa.Column("thread_id", sa.BigInteger(), primary_key=True),
        sa.Column("address", sa.String(length=42), primary_key=True),
        sa.Column("last_read_id", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "user_blocks",
        sa.Column("blocker", sa.String(length=42), primary_key=True),
        sa.Column("blocked", sa.String(length=42), primary_key=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_user_blocks_blocked", "user_blocks", ["blocked"])
    op.create_table(
        "message_reports",
        sa.Column("id", _ID, sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("reporter", sa.String(length=42), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("message_id", "reporter", name="uq_message_reports_once"),
    )


def downgrade() -> None:
    for table in ("message_reports", "user_blocks", "message_thread_reads", "messages", "message_threads"):
        op.drop_table(table)
