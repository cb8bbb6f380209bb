"""availability (weekly rules, exceptions, daily cap) and listings' session offering

Revision ID: 0011_availability
Revises: 0010_outbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_availability"
down_revision = "0010_outbox"
branch_labels = None
depends_on = None

SESSION_COLUMNS = ["session_minutes", "buffer_minutes", "notice_minutes", "horizon_days", "step_minutes"]


def upgrade() -> None:
    op.create_table(
        "availability",
        sa.Column("address", sa.String(length=42), primary_key=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("daily_cap", sa.SmallInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "availability_rules",
        sa.Column("address", sa.String(length=42), primary_key=True),
        sa.Column("weekday", sa.SmallInteger(), primary_key=True),
        sa.Column("start_min", sa.SmallInteger(), primary_key=True),
        sa.Column("end_min", sa.SmallInteger(), nullable=False),
    )
    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("start_min", sa.SmallInteger(), nullable=True),
        sa.Column("end_min", sa.SmallInteger(), nullable=True),
    )
    op.create_index("ix_availability_exceptions_address_day", "availability_exceptions", ["address", "day"])
    with op.batch_alter_table("listings") as batch:
        for name in SESSION_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("booking_mode", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        for name in [*SESSION_COLUMNS, "booking_mode"]:
            batch.drop_column(name)
    op.drop_table("availability_exceptions")
    op.drop_table("availability_rules")
    op.drop_table("availability")
