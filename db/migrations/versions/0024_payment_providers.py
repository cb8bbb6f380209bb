"""payment providers: a quote's card provider (method) and charge; events per provider; refunds, credits

Revision ID: 0024_payment_providers
Revises: 0023_payment_tx_attempts
"""

import sqlalchemy as sa
from alembic import op

from db.types import Uint256

revision = "0024_payment_providers"
down_revision = "0023_payment_tx_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_quotes") as batch:
        batch.add_column(sa.Column("method", sa.String(length=16), nullable=False, server_default="stripe"))
        batch.add_column(sa.Column("hosted_page", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("provider_charge", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("dispute_status", sa.String(length=16), nullable=True))
        batch.create_index("ix_payment_quotes_provider_charge", ["provider_charge"])
    op.execute("UPDATE payment_quotes SET hosted_page = checkout_session")
    op.create_table(
        "payment_events",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "id", name=op.f("pk_payment_events")),
    )
    op.execute(
        "INSERT INTO payment_events (provider, id, type, received_at) "
        "SELECT 'stripe', id, type, received_at FROM stripe_events"
    )
    op.drop_table("stripe_events")
    op.create_table(
        "card_refunds",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("payment", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refund_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_card_refunds")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_card_refunds_refund_id")),
    )
    op.create_index("ix_card_refunds_payment", "card_refunds", ["payment"])
    op.create_table(
        "card_credits",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("payment", sa.String(length=255), nullable=False),
        sa.Column("engagement_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("amount", Uint256(), nullable=False),
        sa.Column("refund_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_card_credits")),
    )
    op.create_index("ix_card_credits_payment", "card_credits", ["payment"])


def downgrade() -> None:
    op.drop_table("card_credits")
    op.drop_table("card_refunds")
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.drop_table("payment_events")
    with op.batch_alter_table("payment_quotes") as batch:
        batch.drop_index("ix_payment_quotes_provider_charge")
        batch.drop_column("dispute_status")
        batch.drop_column("provider_charge")
        batch.drop_column("hosted_page")
        batch.drop_column("method")
