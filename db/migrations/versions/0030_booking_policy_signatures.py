"""bookings.free_cancel_hours (the policy a session was booked under); signatures as text

Revision ID: 0030_booking_policy_signatures
Revises: 0029_listing_free

A contract wallet's EIP-1271 signature can be kilobytes: standing and custom offers keep it as text.
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_booking_policy_signatures"
down_revision = "0029_listing_free"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("free_cancel_hours", sa.Integer(), nullable=True))
    for table in ("listing_offers", "custom_offers"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("signature", type_=sa.Text(), existing_type=sa.String(length=1100))


def downgrade() -> None:
    for table in ("custom_offers", "listing_offers"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("signature", type_=sa.String(length=1100), existing_type=sa.Text())
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("free_cancel_hours")
