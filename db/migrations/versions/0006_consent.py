"""consent: accepted requests, signed offers and their bookings, per-milestone dispute freezing

Revision ID: 0006_consent
Revises: 0005_payments
"""

import sqlalchemy as sa
from alembic import op

from db.types import Uint256

revision = "0006_consent"
down_revision = "0005_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.add_column(sa.Column("accepted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("offer_nonce", Uint256(), nullable=True))
        batch.add_column(sa.Column("booking_ref", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("starts_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("milestones") as batch:
        batch.add_column(sa.Column("frozen", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("provider_share_bps", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("milestones") as batch:
        batch.drop_column("provider_share_bps")
        batch.drop_column("frozen")
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("starts_at")
        batch.drop_column("booking_ref")
        batch.drop_column("offer_nonce")
        batch.drop_column("accepted")
