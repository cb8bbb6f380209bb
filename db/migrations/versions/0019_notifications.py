"""notifications: in-app notifications with read state

Revision ID: 0019_notifications
Revises: 0018_shared_evidence
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_notifications"
down_revision = "0018_shared_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True
        ),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("engagement_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.BigInteger(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notifications_address", "notifications", ["address", "id"])
    op.create_index("ix_notifications_block", "notifications", ["chain_id", "block_number"])


def downgrade() -> None:
    op.drop_table("notifications")
