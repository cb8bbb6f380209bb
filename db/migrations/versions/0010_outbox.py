"""outbox: the live stream's items, with a sequence, and whom each concerns

Revision ID: 0010_outbox
Revises: 0009_stored_documents
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_outbox"
down_revision = "0009_stored_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_block", "outbox", ["chain_id", "block_number"])
    op.create_index("ix_outbox_created", "outbox", ["created_at"])
    op.create_table(
        "outbox_audience",
        sa.Column("address", sa.String(length=42), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
    )
    op.create_index("ix_outbox_audience_seq", "outbox_audience", ["seq"])


def downgrade() -> None:
    op.drop_table("outbox_audience")
    op.drop_table("outbox")
