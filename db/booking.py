"""Off-chain booking data owned by the API: a mentor's availability (weekly rules in their IANA time
zone, date exceptions, a daily cap). A listing's session terms are columns of `listings`
(db/market.py). Personal data: exported and erased with the rest of a wallet's rows."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
    update,
)

from db.metadata import metadata
from db.types import Uint256

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

# A booking: a slot held while the learner pays, then a request the mentor accepts (or an instant
# booking from the mentor's standing offer). `active` while it holds its slot; the slot is
# [block_start, block_end) = [start − buffer, end + buffer). Two active bookings of one mentor never
# overlap: on PostgreSQL an exclusion constraint (btree_gist) says so, on SQLite the unique
# five-minute cells of `booking_cells`. The daily cap is a unique (mentor, day, seat) per day.
bookings = Table(
    "bookings",
    metadata,
    Column("id", String(66), primary_key=True),  # 0x + 32 bytes: the on-chain bookingRef
    Column("listing_id", Integer, nullable=False),
    Column("mentor", String(42), nullable=False),
    Column("learner", String(42), nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False),
    Column("block_start", BigInteger, nullable=False),
    Column("block_end", BigInteger, nullable=False),
    Column("local_day", String(10), nullable=False),  # the mentor's local date of the start
    Column("mode", String(8), nullable=False),  # instant | request
    Column("status", String(10), nullable=False),  # held | expired | cancelled
    Column("active", Boolean, nullable=False),
    Column("hold_expires_at", BigInteger, nullable=False),
    Column("token", String(42), nullable=False),
    Column("amount", Uint256, nullable=False),
    Column("due_date", BigInteger, nullable=False),  # on-chain: the session's end + the reschedule grace
    Column("terms_digest", String(66), nullable=False, unique=True),
    # A request's answer is due by then (accept or decline); past it, unanswered, the slot is free.
    Column("respond_by", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # Bumped by each accepted reschedule: the invite's SEQUENCE, so calendars replace the entry.
    Column("sequence", Integer, nullable=False, server_default="0"),
    # The start the engagement was funded with (an instant booking's on-chain startsAt), kept when a
    # reschedule moves `starts_at`; null until then.
    Column("funded_starts_at", BigInteger, nullable=True),
    # The learner cancelled inside the listing's free period: the mentor is asked to refund (cancel).
    Column("cancel_requested_at", BigInteger, nullable=True),
    # The listing's cancellation policy when it was booked (a later change does not apply to it).
    Column("free_cancel_hours", Integer, nullable=True),
    Index("ix_bookings_mentor_block", "mentor", "block_start"),
    Index("ix_bookings_learner", "learner"),
)

# A proposal to move a confirmed session: either party proposes a new slot inside the reschedule
# grace, the other accepts (the booking moves, its invite's SEQUENCE goes up) or declines. A proposal
# does not hold its slot: accepting takes it through the same constraints as a booking, or is refused.
booking_reschedules = Table(
    "booking_reschedules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("booking_id", String(66), nullable=False, index=True),
    Column("proposed_by", String(42), nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False),
    # proposed | accepted | declined | withdrawn | superseded (by a newer proposal); expired is
    # `proposed` past `expires_at`
    Column("status", String(10), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("answered_at", BigInteger, nullable=True),
)

booking_cells = Table(
    "booking_cells",
    metadata,
    Column("mentor", String(42), primary_key=True),
    Column("cell", BigInteger, primary_key=True),  # unix seconds // 300
    Column("booking_id", String(66), nullable=False, index=True),
)

booking_days = Table(
    "booking_days",
    metadata,
    Column("mentor", String(42), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("seat", SmallInteger, primary_key=True),
    Column("booking_id", String(66), nullable=False, index=True),
)

# A session listing's standing offer: the mentor's EIP-712 signature over fixed terms (one amount in
# one token per session), which any learner's booking funds with `createEngagementWithOffer`.
listing_offers = Table(
    "listing_offers",
    metadata,
    Column("listing_id", Integer, primary_key=True),
    Column("provider", String(42), nullable=False, index=True),
    Column("offer", String(4000), nullable=False),  # the OfferFields JSON, integers as decimal strings
    Column("signature", Text, nullable=False),  # EIP-1271 signatures can be kilobytes
    Column("nonce", String(78), nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # The listing's price when the mentor signed: a change since asks the mentor to sign again.
    Column("listing_price", String(32), nullable=True),
    Column("listing_currency", String(8), nullable=True),
)

# A user's private calendar feed: the URL carries a random token; only its hash is stored, and
# revoking (or rotating) it makes the old URL answer 404.
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

# A custom offer a mentor drafts for one learner: milestones priced in a currency and converted at
# drafting into the paying token, its EIP-712 offer (signed by the mentor in the dApp), and whether
# the mentor withdrew it. Funded is read from the indexed chain (an engagement from its nonce).
custom_offers = Table(
    "custom_offers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(42), nullable=False, index=True),
    Column("client", String(42), nullable=False, index=True),
    Column("listing_id", Integer, nullable=True),
    Column("title", String(120), nullable=False),
    Column("currency", String(8), nullable=False),
    Column("prices", String(2000), nullable=False),  # JSON list of decimal strings, one per milestone
    Column("offer", String(4000), nullable=False),  # the OfferFields JSON, integers as decimal strings
    Column("document_cid", String(100), nullable=False),
    Column("signature", Text, nullable=True),
    Column("nonce", String(78), nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),  # draft | open (signed) | cancelled
    Column("created_at", BigInteger, nullable=False),
    Column("cancelled_at", BigInteger, nullable=True),
)

# The free-time index (api/booking/free_index.py): each session listing's first free slot in the next
# days, exact until `valid_until`, so an availability search is an indexed range query.
listing_free = Table(
    "listing_free",
    metadata,
    Column("listing_id", Integer, primary_key=True),
    Column("mentor", String(42), nullable=False, index=True),
    Column("skill", String(64), nullable=False),
    Column("next_free_at", BigInteger, nullable=True),
    Column("valid_until", BigInteger, nullable=False),
    Column("computed_at", BigInteger, nullable=False),
    Index("ix_listing_free_skill_next", "skill", "next_free_at"),
)


def lock_free_time(conn: Connection, mentor: str) -> None:
    """Serialise recomputing a mentor's free-time entries with invalidating them, until the caller's
    transaction ends: an entry computed from reads that miss a hold can then never be written after
    that hold's invalidation (PostgreSQL: an advisory lock per mentor; SQLite has one writer at a time
    and the recomputation writes before it reads)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(20261204, hashtext(:mentor))"), {"mentor": mentor})


def invalidate_free_time(conn: Connection, mentor: str) -> None:
    """The mentor's time changed (a hold, a move, new hours, a changed listing): their free-time
    entries are recomputed before they are trusted again. In the caller's transaction."""
    lock_free_time(conn, mentor)
    conn.execute(update(listing_free).where(listing_free.c.mentor == mentor).values(valid_until=0))
