"""card bookings: a card quote may pay a held session booking

Revision ID: 0025_card_bookings
Revises: 0024_payment_providers
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_card_bookings"
down_revision = "0024_payment_providers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_quotes") as batch:
        batch.add_column(sa.Column("booking_id", sa.String(length=66), nullable=True))
        batch.create_index("ix_payment_quotes_booking_id", ["booking_id"])


def downgrade() -> None:
    with op.batch_alter_table("payment_quotes") as batch:
        batch.drop_index("ix_payment_quotes_booking_id")
        batch.drop_column("booking_id")
