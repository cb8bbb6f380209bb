"""email: confirmed e-mail addresses for notifications, and which notifications were mailed

Revision ID: 0020_email
Revises: 0019_notifications
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_email"
down_revision = "0019_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_addresses",
        sa.Column("address", sa.String(length=42), primary_key=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("confirm_hash", sa.String(length=64), nullable=True, unique=True),
        sa.Column("unsubscribe_token", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_at", sa.BigInteger(), nullable=True),
        sa.Column("unsubscribed_at", sa.BigInteger(), nullable=True),
        sa.Column("mailed_after", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "mail_sent",
        sa.Column("notification_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_mail_sent_address", "mail_sent", ["address"])


def downgrade() -> None:
    op.drop_table("mail_sent")
    op.drop_table("email_addresses")
