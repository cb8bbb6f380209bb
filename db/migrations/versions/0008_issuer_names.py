"""issuer names: an admin may confirm an issuer's name; every other name is shown as self-declared

Revision ID: 0008_issuer_names
Revises: 0007_long_signatures
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_issuer_names"
down_revision = "0007_long_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issuer_profiles") as batch:
        batch.add_column(sa.Column("name_verified_by", sa.String(length=42), nullable=True))
        batch.add_column(sa.Column("name_verified_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issuer_profiles") as batch:
        batch.drop_column("name_verified_at")
        batch.drop_column("name_verified_by")
