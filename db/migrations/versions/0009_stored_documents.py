"""stored documents: what the API pinned, for `skillchain ipfs gc`

Revision ID: 0009_stored_documents
Revises: 0008_issuer_names
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_stored_documents"
down_revision = "0008_issuer_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_documents",
        sa.Column("cid", sa.String(length=100), primary_key=True),
        sa.Column("digest", sa.String(length=66), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("keep_until", sa.BigInteger(), nullable=True),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("engagement_id", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_stored_documents_digest", "stored_documents", ["digest"])
    op.create_index("ix_stored_documents_engagement", "stored_documents", ["chain_id", "engagement_id"])


def downgrade() -> None:
    op.drop_table("stored_documents")
