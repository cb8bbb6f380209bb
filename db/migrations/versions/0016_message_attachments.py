"""message_attachments: encrypted files sent in a thread

Revision ID: 0016_message_attachments
Revises: 0015_messages
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_message_attachments"
down_revision = "0015_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_attachments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True
        ),
        sa.Column("message_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("uploader", sa.String(length=42), nullable=False, index=True),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("message_attachments")
