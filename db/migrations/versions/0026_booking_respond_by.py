"""bookings.respond_by: when a paid booking request must be answered by the mentor

Revision ID: 0026_booking_respond_by
Revises: 0025_card_bookings
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_booking_respond_by"
down_revision = "0025_card_bookings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("respond_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("respond_by")
