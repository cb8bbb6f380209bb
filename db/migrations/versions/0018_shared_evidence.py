"""shared_evidence: messages and attendance a party shares with the arbiter in a dispute

Revision ID: 0018_shared_evidence
Revises: 0017_room_attendance
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_shared_evidence"
down_revision = "0017_room_attendance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_evidence",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True
        ),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.BigInteger(), nullable=False),
        sa.Column("shared_by", sa.String(length=42), nullable=False, index=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sender", sa.String(length=42), nullable=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("attendance", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "chain_id", "engagement_id", "shared_by", "message_id", name="uq_shared_evidence_once"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_shared_evidence_engagement", "shared_evidence", ["chain_id", "engagement_id"])


def downgrade() -> None:
    op.drop_table("shared_evidence")
