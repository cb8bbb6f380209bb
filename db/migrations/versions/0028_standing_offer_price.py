"""listing_offers.listing_price/_currency: the listing's price a standing offer was signed for

Revision ID: 0028_standing_offer_price
Revises: 0027_booking_changes
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_standing_offer_price"
down_revision = "0027_booking_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listing_offers") as batch:
        batch.add_column(sa.Column("listing_price", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("listing_currency", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listing_offers") as batch:
        batch.drop_column("listing_currency")
        batch.drop_column("listing_price")
