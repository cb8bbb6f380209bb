"""payment_tx_attempts: every transaction signed for a payment job (a stuck one is replaced)

Revision ID: 0023_payment_tx_attempts
Revises: 0022_confirmation_mails
"""

import sqlalchemy as sa
from alembic import op

from db.types import Uint256

revision = "0023_payment_tx_attempts"
down_revision = "0022_confirmation_mails"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_tx_attempts",
        sa.Column("tx_hash", sa.String(length=66), primary_key=True),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("max_fee", Uint256(), nullable=False),
        sa.Column("tip", Uint256(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_payment_tx_attempts_job_id", "payment_tx_attempts", ["job_id"])


def downgrade() -> None:
    op.drop_table("payment_tx_attempts")
