"""booking changes: reschedule proposals, an invite's SEQUENCE, the listing's cancellation policy

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


def downgrade() -> None:
    op.drop_index("ix_booking_reschedules_booking_id", table_name="booking_reschedules")
    op.drop_table("booking_reschedules")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("free_cancel_hours")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("cancel_requested_at")
        batch.drop_column("funded_starts_at")
        batch.drop_column("sequence")
