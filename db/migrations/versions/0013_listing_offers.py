"""listing_offers: a session listing's standing signed offer (instant booking)

Revision ID: 0013_listing_offers
Revises: 0012_bookings
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_listing_offers"
down_revision = "0012_bookings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_offers",
        sa.Column("listing_id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("offer", sa.String(length=4000), nullable=False),
        sa.Column("signature", sa.String(length=1100), nullable=False),
        sa.Column("nonce", sa.String(length=78), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_listing_offers_provider", "listing_offers", ["provider"])


def downgrade() -> None:
    op.drop_table("listing_offers")
