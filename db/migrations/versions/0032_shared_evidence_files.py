"""shared_evidence file columns: a shared message's attachment, copied sealed

Revision ID: 0032_shared_evidence_files
Revises: 0031_avatars
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_shared_evidence_files"
down_revision = "0031_avatars"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shared_evidence") as batch:
        batch.add_column(sa.Column("file_name", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("file_type", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("file_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("file", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shared_evidence") as batch:
        batch.drop_column("file")
        batch.drop_column("file_size")
        batch.drop_column("file_type")
        batch.drop_column("file_name")
