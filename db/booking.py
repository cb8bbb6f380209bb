"""Off-chain booking data owned by the API: a mentor's availability (weekly rules in their IANA time
zone, date exceptions, a daily cap). A listing's session terms are columns of `listings`
(db/market.py). Personal data: exported and erased with the rest of a wallet's rows."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table

from db.metadata import metadata

availability = Table(
    "availability",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("daily_cap", SmallInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

availability_rules = Table(
    "availability_rules",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("weekday", SmallInteger, primary_key=True),  # 0 = Monday
    Column("start_min", SmallInteger, primary_key=True),  # minutes after local midnight
    Column("end_min", SmallInteger, nullable=False),  # ≤ 1440
)

availability_exceptions = Table(
    "availability_exceptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address", String(42), nullable=False),
    Column("day", String(10), nullable=False),  # local ISO date in the mentor's zone
    Column("kind", String(5), nullable=False),  # off | extra
    Column("start_min", SmallInteger, nullable=True),  # null with kind off: the whole day
    Column("end_min", SmallInteger, nullable=True),
    Index("ix_availability_exceptions_address_day", "address", "day"),
)
