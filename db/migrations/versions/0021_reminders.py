"""reminders: which booking reminders ("starting in an hour") were made

Revision ID: 0021_reminders
Revises: 0020_email
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_reminders"
down_revision = "0020_email"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders_sent",
        sa.Column("booking_id", sa.String(length=66), primary_key=True),
        sa.Column("kind", sa.String(length=32), primary_key=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reminders_sent")
