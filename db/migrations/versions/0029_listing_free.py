"""listing_free: the free-time index (each session listing's next free slot)

Revision ID: 0029_listing_free
Revises: 0028_standing_offer_price
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_listing_free"
down_revision = "0028_standing_offer_price"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_free",
        sa.Column("listing_id", sa.Integer(), primary_key=True),
        sa.Column("mentor", sa.String(length=42), nullable=False),
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("next_free_at", sa.BigInteger(), nullable=True),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_listing_free_mentor", "listing_free", ["mentor"])
    op.create_index("ix_listing_free_skill_next", "listing_free", ["skill", "next_free_at"])


def downgrade() -> None:
    op.drop_index("ix_listing_free_skill_next", table_name="listing_free")
    op.drop_index("ix_listing_free_mentor", table_name="listing_free")
    op.drop_table("listing_free")
