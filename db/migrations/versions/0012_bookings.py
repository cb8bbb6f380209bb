"""bookings: holds and requests, exclusive per mentor (PostgreSQL exclusion constraint, SQLite cells)

Revision ID: 0012_bookings
Revises: 0011_availability
"""

import sqlalchemy as sa
from alembic import op

from db.types import Uint256

revision = "0012_bookings"
down_revision = "0011_availability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=66), primary_key=True),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("mentor", sa.String(length=42), nullable=False),
        sa.Column("learner", sa.String(length=42), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("block_start", sa.BigInteger(), nullable=False),
        sa.Column("block_end", sa.BigInteger(), nullable=False),
        sa.Column("local_day", sa.String(length=10), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("hold_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("amount", Uint256(), nullable=False),
        sa.Column("due_date", sa.BigInteger(), nullable=False),
        sa.Column("terms_digest", sa.String(length=66), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_bookings_mentor_block", "bookings", ["mentor", "block_start"])
    op.create_index("ix_bookings_learner", "bookings", ["learner"])
    op.create_table(
        "booking_cells",
        sa.Column("mentor", sa.String(length=42), primary_key=True),
        sa.Column("cell", sa.BigInteger(), primary_key=True),
        sa.Column("booking_id", sa.String(length=66), nullable=False),
    )
    op.create_index("ix_booking_cells_booking_id", "booking_cells", ["booking_id"])
    op.create_table(
        "booking_days",
        sa.Column("mentor", sa.String(length=42), primary_key=True),
        sa.Column("day", sa.String(length=10), primary_key=True),
        sa.Column("seat", sa.SmallInteger(), primary_key=True),
        sa.Column("booking_id", sa.String(length=66), nullable=False),
    )
    op.create_index("ix_booking_days_booking_id", "booking_days", ["booking_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Two active bookings of one mentor never overlap, whatever the writers do concurrently.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT bookings_never_overlap EXCLUDE USING gist "
            "(mentor WITH =, int8range(block_start, block_end) WITH &&) WHERE (active)"
        )


def downgrade() -> None:
    op.drop_table("booking_days")
    op.drop_table("booking_cells")
    op.drop_table("bookings")
