"""Holds and bookings, knowing no HTTP: take a slot exclusively (the database refuses a second
taker, whatever the concurrency), price it, prepare the request that funds it, and say where a
booking stands from the indexed chain (so a reorg that removes its engagement puts it back)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from api.booking.prices import Price
from api.booking.service import NotBookable, load_availability, offering_of, session_of
from api.models import SessionOffering
from booking.slots import (
    Availability,
    Busy,
    DayCounts,
    Offering,
    blocking,
    cells,
    free_slots,
    local_day,
    naive_free_slots,
)
from db.booking import booking_cells, booking_days, bookings, invalidate_free_time
from db.chain import engagements, milestones

ETH = "0x" + "0" * 40
BookingState = Literal[
    "held",
    "expired",
    "cancelled",
    "requested",
    "unanswered",
    "confirmed",
    "withdrawn",
    "declined",
    "completed",
]


class SlotTaken(Exception):
    """Someone else holds or booked an overlapping time, or the day is at its cap."""


class SlotInvalid(ValueError):
    """The start is not a bookable slot of the listing (outside availability, notice or horizon)."""


def active_blocks(
    conn: Connection, mentor: str, start: int, end: int, now: int, *, exclude: str | None = None
) -> list[Busy]:
    """What blocks the mentor's calendar in [start, end): active bookings, except holds that lapsed
    unpaid and requests withdrawn or declined (they free their slot at once, even before the next
    hold marks them inactive), and except the booking `exclude` (one being moved)."""
    rows = conn.execute(
        select(
            bookings.c.block_start,
            bookings.c.block_end,
            bookings.c.status,
            bookings.c.hold_expires_at,
            bookings.c.terms_digest,
            bookings.c.respond_by,
        )
        .where(
            bookings.c.mentor == mentor,
            bookings.c.active,
            bookings.c.block_end > start,
            bookings.c.block_start < end,
            bookings.c.id != (exclude or ""),
        )
        .order_by(bookings.c.block_start)
    ).all()
    funded = _funded(conn, [r.terms_digest for r in rows if r.status == "held" and r.hold_expires_at <= now])
    overdue = [r.terms_digest for r in rows if r.respond_by is not None and r.respond_by <= now]
    ended = _ended(conn, [r.terms_digest for r in rows], mentor) | (set(overdue) - _accepted(conn, overdue))
    return [
        Busy(r.block_start, r.block_end)
        for r in rows
        if r.terms_digest not in ended
        if not (r.status == "held" and r.hold_expires_at <= now and r.terms_digest not in funded)
    ]


def day_counts(conn: Connection, mentor: str, days: set[str], *, exclude: str | None = None) -> DayCounts:
    rows = conn.execute(
        select(booking_days.c.day).where(
            booking_days.c.mentor == mentor,
            booking_days.c.day.in_(sorted(days)),
            booking_days.c.booking_id != (exclude or ""),
        )
    ).all()
    counts: dict[date, int] = {}
    for (day,) in rows:
        d = date.fromisoformat(day)
        counts[d] = counts.get(d, 0) + 1
    return DayCounts(counts)


def _gone() -> Any:
    """An engagement that will not happen: a request withdrawn or declined before acceptance, or
    accepted work settled with every milestone refunded (the mentor cancelled it)."""
    return or_(
        engagements.c.status.in_(("withdrawn", "declined")),
        and_(
            engagements.c.status == "settled",
            ~exists().where(
                milestones.c.chain_id == engagements.c.chain_id,
                milestones.c.engagement_id == engagements.c.id,
                milestones.c.state != "refunded",
            ),
        ),
    )


def _ended(conn: Connection, digests: list[str], mentor: str) -> set[str]:
    """Which of these bookings' engagements with `mentor` will not happen (withdrawn, declined or
    cancelled)."""
    if not digests:
        return set()
    gone = and_(_gone(), engagements.c.provider == mentor)
    by_terms = select(engagements.c.terms_digest).where(engagements.c.terms_digest.in_(digests), gone)
    by_ref = select(engagements.c.booking_ref).where(engagements.c.booking_ref.in_(digests), gone)
    return set(conn.execute(by_terms).scalars()) | set(conn.execute(by_ref).scalars())


def _accepted(conn: Connection, digests: list[str]) -> set[str]:
    """Which of these request bookings the mentor accepted (by their terms digest)."""
    if not digests:
        return set()
    return set(
        conn.execute(
            select(engagements.c.terms_digest).where(
                engagements.c.terms_digest.in_(digests), engagements.c.accepted
            )
        ).scalars()
    )


def _funded(conn: Connection, digests: list[str]) -> set[str]:
    """Which of these bookings an indexed engagement funds: a request by its terms digest, an instant
    booking by its bookingRef (stored as the booking's `terms_digest`: the offer's terms are shared)."""
    if not digests:
        return set()
    by_terms = select(engagements.c.terms_digest).where(engagements.c.terms_digest.in_(digests))
    by_ref = select(engagements.c.booking_ref).where(engagements.c.booking_ref.in_(digests))
    return set(conn.execute(by_terms).scalars()) | set(conn.execute(by_ref).scalars())


def release_lapsed(conn: Connection, mentor: str, now: int) -> int:
    """Mark the mentor's unpaid holds past their time expired and free their cells and seats."""
    lapsed = conn.execute(
        select(bookings.c.id, bookings.c.terms_digest).where(
            bookings.c.mentor == mentor,
            bookings.c.status == "held",
            bookings.c.active,
            bookings.c.hold_expires_at <= now,
        )
    ).all()
    funded = _funded(conn, [r.terms_digest for r in lapsed])
    ids = [r.id for r in lapsed if r.terms_digest not in funded]
    # A request the learner withdrew or the mentor declined gives its slot back too, and so does a
    # session the mentor cancelled (an instant booking's engagement is found by its bookingRef).
    for key in (
        engagements.c.terms_digest == bookings.c.terms_digest,
        engagements.c.booking_ref == bookings.c.id,
    ):
        ids += [
            i
            for i in conn.execute(
                select(bookings.c.id)
                .join(engagements, key)
                .where(
                    bookings.c.mentor == mentor,
                    bookings.c.active,
                    # Its own parties: a reference or digest alone can be copied into another engagement.
                    engagements.c.client == bookings.c.learner,
                    engagements.c.provider == mentor,
                    _gone(),
                )
            ).scalars()
            if i not in ids
        ]
    # A request left unanswered past its respond-by time gives its slot back (the learner may take
    # the money back with withdrawRequest); an accepted one keeps it.
    overdue = conn.execute(
        select(bookings.c.id, bookings.c.terms_digest).where(
            bookings.c.mentor == mentor,
            bookings.c.active,
            bookings.c.respond_by.is_not(None),
            bookings.c.respond_by <= now,
        )
    ).all()
    accepted = _accepted(conn, [r.terms_digest for r in overdue])
    ids += [r.id for r in overdue if r.terms_digest not in accepted and r.id not in ids]
    if ids:
        conn.execute(
            update(bookings)
            .where(bookings.c.id.in_(ids), bookings.c.status == "held")
            .values(status="expired")
        )
        conn.execute(update(bookings).where(bookings.c.id.in_(ids)).values(active=False))
        conn.execute(delete(booking_cells).where(booking_cells.c.booking_id.in_(ids)))
        conn.execute(delete(booking_days).where(booking_days.c.booking_id.in_(ids)))
    return len(ids)


def hold(
    conn: Connection,
    listing: dict[str, Any],
    availability: Availability | None,
    *,
    booking_id: str,
    learner: str,
    starts_at: int,
    now: int,
    hold_seconds: int,
    grace_seconds: int,
    price: Price,
    terms_digest: str,
    respond_seconds: int = 48 * 3600,
) -> dict[str, Any]:
    """Hold the slot at `starts_at` for `learner`: one transaction (a savepoint), refused with
    SlotTaken when another active booking overlaps or the day is full, SlotInvalid when the start is
    not a slot of the listing at all."""
    session = session_of(listing)
    if session is None:
        raise NotBookable(
            f"listing {listing['id']} is custom work, not bookable sessions: propose an engagement"
        )
    if availability is None:
        raise SlotInvalid("the mentor has not published availability yet")
    if learner == listing["owner"]:
        raise SlotInvalid("you cannot book your own listing")
    offering = offering_of(session)
    release_lapsed(conn, listing["owner"], now)
    day = check_slot(conn, listing["owner"], offering, availability, starts_at, now)
    block = blocking(starts_at, offering.duration, offering.buffer)
    row = {
        "id": booking_id,
        "listing_id": listing["id"],
        "mentor": listing["owner"],
        "learner": learner,
        "starts_at": starts_at,
        "ends_at": starts_at + offering.duration,
        "block_start": block.start,
        "block_end": block.end,
        "local_day": day.isoformat(),
        "mode": session.booking,
        "status": "held",
        "active": True,
        "hold_expires_at": now + hold_seconds,
        "token": price.token,
        "amount": price.amount,
        "due_date": starts_at + offering.duration + grace_seconds,
        "terms_digest": terms_digest,
        "created_at": now,
        # A request is answered by then, and never after the session would have started.
        "respond_by": min(now + respond_seconds, starts_at) if session.booking == "request" else None,
        "free_cancel_hours": session.free_cancel_hours,
    }
    try:
        with conn.begin_nested():  # the database, not this check, decides who wins a race
            conn.execute(insert(bookings).values(**row))
            claim(conn, listing["owner"], booking_id, block, row["local_day"], availability.daily_cap)
    except IntegrityError:
        raise SlotTaken("this slot was just taken: pick another") from None
    invalidate_free_time(conn, listing["owner"])
    return row


def check_slot(
    conn: Connection,
    mentor: str,
    offering: Offering,
    availability: Availability,
    starts_at: int,
    now: int,
    *,
    exclude: str | None = None,
) -> date:
    """The mentor's local day of `starts_at` if it is a slot of the offering that is free now (apart
    from the booking `exclude`); SlotInvalid or SlotTaken, in words, if not. Only a check: `claim`,
    in the database, decides a race."""
    zone = ZoneInfo(availability.timezone)
    day = local_day(starts_at, zone)
    # Is it a slot at all, ignoring what is booked? Then: is it free?
    if starts_at not in naive_free_slots(
        availability, offering, [], start=starts_at, end=starts_at + 1, now=now
    ):
        raise SlotInvalid(
            "this time is not a bookable slot of the listing (outside the mentor's hours, inside the "
            "minimum notice, past the booking horizon or off the slot grid): pick one from its slots"
        )
    window = (starts_at - 2 * 86400, starts_at + 2 * 86400)
    busy = active_blocks(conn, mentor, *window, now, exclude=exclude)
    counts = day_counts(
        conn, mentor, {(day + timedelta(days=k)).isoformat() for k in (-1, 0, 1)}, exclude=exclude
    )
    if starts_at not in free_slots(
        availability, offering, busy, start=starts_at, end=starts_at + 1, now=now, booked_per_day=counts
    ):
        raise SlotTaken("this slot was just taken (or the mentor's day is full): pick another")
    return day


def claim(
    conn: Connection, mentor: str, booking_id: str, block: Busy, day: str, daily_cap: int | None
) -> None:
    """Take the booking's cells (SQLite) and a seat of its day, in the caller's savepoint: an
    IntegrityError (or SlotTaken for a full day) when another active booking has them. The booking's
    row, with its block, is written (or moved) by the caller first."""
    if conn.dialect.name != "postgresql":  # PostgreSQL: the exclusion constraint instead
        conn.execute(
            insert(booking_cells),
            [{"mentor": mentor, "cell": c, "booking_id": booking_id} for c in cells(block)],
        )
    taken = {
        s
        for (s,) in conn.execute(
            select(booking_days.c.seat).where(booking_days.c.mentor == mentor, booking_days.c.day == day)
        )
    }
    seat = next(i for i in range(len(taken) + 1) if i not in taken)
    if daily_cap is not None and seat >= daily_cap:
        raise SlotTaken("the mentor's day is full: pick another day")
    conn.execute(insert(booking_days).values(mentor=mentor, day=day, seat=seat, booking_id=booking_id))


def state_of(conn: Connection, booking: dict[str, Any], now: int) -> BookingState:
    """Where a booking stands: from its funded engagement when the indexer has one whose terms,
    learner and amount match the hold; otherwise held (or expired once the hold lapsed)."""
    instant = booking["mode"] == "instant"
    e = conn.execute(
        select(
            engagements.c.chain_id,
            engagements.c.id,
            engagements.c.status,
            engagements.c.accepted,
            engagements.c.client,
            engagements.c.provider,
            engagements.c.total_amount,
            engagements.c.starts_at,
        )
        .where(
            engagements.c.booking_ref == booking["id"]
            if instant
            else engagements.c.terms_digest == booking["terms_digest"]
        )
        # Two fundings of one booking (a wallet and a card at once): the one still standing counts.
        .order_by(engagements.c.status.in_(("withdrawn", "declined")), engagements.c.id)
    ).first()
    matches = (
        e is not None
        and e.client == booking["learner"]
        and e.provider == booking["mentor"]
        and int(e.total_amount) == int(booking["amount"])
        # An instant booking: its start too (the one it was funded with, if a reschedule moved it).
        and (not instant or e.starts_at == (booking.get("funded_starts_at") or booking["starts_at"]))
    )
    if e is not None and matches:
        if e.status == "requested":  # paid, not answered yet: past its respond-by time, unanswered
            respond_by = booking.get("respond_by")
            return "unanswered" if respond_by is not None and now >= respond_by else "requested"
        if e.status in ("withdrawn", "declined"):
            return e.status  # type: ignore[no-any-return]
        if e.status == "settled":
            # Settled with nothing released (the mentor cancelled, or the learner took an undelivered
            # session back after its due date): it did not happen.
            return "cancelled" if _all_refunded(conn, e.chain_id, e.id) else "completed"
        return "confirmed" if e.accepted else "requested"
    if booking["status"] == "held" and booking["hold_expires_at"] <= now:
        return "expired"
    return booking["status"]  # type: ignore[no-any-return]


def _all_refunded(conn: Connection, chain_id: int, engagement_id: int) -> bool:
    states = set(
        conn.execute(
            select(milestones.c.state).where(
                milestones.c.chain_id == chain_id, milestones.c.engagement_id == engagement_id
            )
        ).scalars()
    )
    return states == {"refunded"}


def mine(conn: Connection, address: str) -> Any:
    """Bookings where `address` is the learner or the mentor."""
    return select(bookings).where(or_(bookings.c.learner == address, bookings.c.mentor == address))


def listing_slots(
    conn: Connection, listing: dict[str, Any], *, start: int, end: int, now: int
) -> tuple[list[int], Availability | None, SessionOffering]:
    """The listing's free slot starts in [start, end): its mentor's availability minus what every
    one of the mentor's listings has booked or holds, under the daily cap."""
    session = session_of(listing)
    if session is None:
        raise NotBookable(
            f"listing {listing['id']} is custom work, not bookable sessions: propose an engagement"
        )
    mentor = load_availability(conn, listing["owner"])
    if mentor is None:
        return [], None, session
    zone = ZoneInfo(mentor.timezone)
    busy = active_blocks(conn, listing["owner"], start - 86400, end + 86400, now)
    first, last = local_day(start, zone), local_day(end, zone)
    days = {(first + timedelta(days=k)).isoformat() for k in range(-1, (last - first).days + 2)}
    counts = day_counts(conn, listing["owner"], days)
    return (
        free_slots(mentor, offering_of(session), busy, start=start, end=end, now=now, booked_per_day=counts),
        mentor,
        session,
    )
