"""room_attendance: join and leave times of a session room

Revision ID: 0017_room_attendance
Revises: 0016_message_attachments
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_room_attendance"
down_revision = "0016_message_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_attendance",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True
        ),
        sa.Column("booking_id", sa.String(length=66), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("joined_at", sa.BigInteger(), nullable=False),
        sa.Column("left_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_room_attendance_booking", "room_attendance", ["booking_id", "id"])
    op.create_index("ix_room_attendance_address", "room_attendance", ["address"])


def downgrade() -> None:
    op.drop_table("room_attendance")
