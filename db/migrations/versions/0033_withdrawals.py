"""withdrawals: each Withdrawn event, for a wallet's withdrawal history

Revision ID: 0033_withdrawals
Revises: 0032_shared_evidence_files

Rows appear as the indexer reads new blocks; withdrawals already indexed before this revision are
filled in by re-indexing (`skillchain index --reset`), or stay absent from the history (the
balances they left are right either way).
"""

import sqlalchemy as sa
from alembic import op

from db.types import Uint256

revision = "0033_withdrawals"
down_revision = "0032_shared_evidence_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "withdrawals",
        sa.Column("chain_id", sa.Integer(), primary_key=True),
        sa.Column("block_number", sa.BigInteger(), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("recipient", sa.String(length=42), nullable=False),
        sa.Column("amount", Uint256(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
    )
    op.create_index("ix_withdrawals_account", "withdrawals", ["chain_id", "account", "block_number"])


def downgrade() -> None:
    op.drop_index("ix_withdrawals_account", table_name="withdrawals")
    op.drop_table("withdrawals")
