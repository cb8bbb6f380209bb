"""calendar_feeds: each user's private, revocable iCalendar feed

Revision ID: 0014_calendar_feeds
Revises: 0013_listing_offers
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_calendar_feeds"
down_revision = "0013_listing_offers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("address", sa.String(length=42), primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
