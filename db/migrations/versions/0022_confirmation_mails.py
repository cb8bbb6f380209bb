"""confirmation_mails: each confirmation mail by its recipient's hash, for the mail limits

Revision ID: 0022_confirmation_mails
Revises: 0021_reminders
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_confirmation_mails"
down_revision = "0021_reminders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "confirmation_mails",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("recipient_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_confirmation_mails_recipient_hash", "confirmation_mails", ["recipient_hash"])
    op.create_index("ix_confirmation_mails_sent_at", "confirmation_mails", ["sent_at"])


def downgrade() -> None:
    op.drop_table("confirmation_mails")
