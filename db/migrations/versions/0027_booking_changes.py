"""booking changes: reschedule proposals, an invite's SEQUENCE, the listing's cancellation policy,
custom offers for one learner

Revision ID: 0027_booking_changes
Revises: 0026_booking_respond_by
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_booking_changes"
down_revision = "0026_booking_respond_by"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("funded_starts_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cancel_requested_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("free_cancel_hours", sa.Integer(), nullable=True))
    op.create_table(
        "booking_reschedules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("booking_id", sa.String(length=66), nullable=False),
        sa.Column("proposed_by", sa.String(length=42), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_booking_reschedules_booking_id", "booking_reschedules", ["booking_id"])
    op.create_table(
        "custom_offers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("client", sa.String(length=42), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("prices", sa.String(length=2000), nullable=False),
        sa.Column("offer", sa.String(length=4000), nullable=False),
        sa.Column("document_cid", sa.String(length=100), nullable=False),
        sa.Column("signature", sa.String(length=1100), nullable=True),
        sa.Column("nonce", sa.String(length=78), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_custom_offers_provider", "custom_offers", ["provider"])
    op.create_index("ix_custom_offers_client", "custom_offers", ["client"])


def downgrade() -> None:
    op.drop_index("ix_custom_offers_client", table_name="custom_offers")
    op.drop_index("ix_custom_offers_provider", table_name="custom_offers")
    op.drop_table("custom_offers")
    op.drop_index("ix_booking_reschedules_booking_id", table_name="booking_reschedules")
    op.drop_table("booking_reschedules")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("free_cancel_hours")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("cancel_requested_at")
        batch.drop_column("funded_starts_at")
        batch.drop_column("sequence")
