"""avatars: profile pictures kept in the database (erasable), not on IPFS

Revision ID: 0031_avatars
Revises: 0030_booking_policy_signatures
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_avatars"
down_revision = "0030_booking_policy_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "avatars",
        sa.Column("address", sa.String(length=42), primary_key=True),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("avatars")
