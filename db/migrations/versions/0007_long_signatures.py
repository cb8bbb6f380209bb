"""long signatures: a voucher's signature may be a contract wallet's (passkey, multisig), kilobytes long

Revision ID: 0007_long_signatures
Revises: 0006_consent
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_long_signatures"
down_revision = "0006_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credential_vouchers") as batch:
        batch.alter_column(
            "signature", existing_type=sa.String(length=300), type_=sa.Text(), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("credential_vouchers") as batch:
        batch.alter_column(
            "signature", existing_type=sa.Text(), type_=sa.String(length=300), existing_nullable=True
        )
