"""The free-time index, knowing no HTTP: each session listing's next free slot, so "who is available
in the next 7 days for skill X" over thousands of mentors is one indexed query, not a slot sweep per
mentor.

An entry is exact when written and says until when it stays exact (`valid_until`): the next moment
its slot slips inside the listing's notice, or a hold of the mentor's lapses (a slot may free), or a
request's respond-by time passes, and at most REFRESH seconds on (a request withdrawn or declined
on-chain frees its slot without the app writing anything: it shows within that time). Whatever the
app does that takes or frees a mentor's time (a hold, a moved session, new hours, a changed listing)
invalidates the mentor's entries in its own transaction. A search recomputes what is stale among its
candidates (up to a bound), and a background pass keeps the rest fresh."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, func, or_, select

from api.booking.holds import listing_slots
from api.booking.service import NotBookable
from api.periodic import PeriodicPass
from db.booking import bookings, listing_free, lock_free_time
from db.market import listings
from db.upsert import upsert

log = logging.getLogger("skillchain.free_index")

WINDOW = 8 * 86400  # how far ahead an entry looks for the next free slot (a search asks up to 7 days)
REFRESH = 600  # an entry is recomputed at least this often


def session_listings() -> Any:
    """Active session listings (the ones with slots)."""
    return and_(
        listings.c.active.is_(True), listings.c.session_minutes.is_not(None), listings.c.kind == "offer"
    )


def stale(conn: Connection, where: Any, now: int, limit: int) -> list[dict[str, Any]]:
    """Session listings matching `where` whose entry is missing or no longer exact."""
    fresh = exists().where(listing_free.c.listing_id == listings.c.id, listing_free.c.valid_until > now)
    rows = conn.execute(
        select(listings).where(session_listings(), where, ~fresh).order_by(listings.c.id).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def _valid_until(conn: Connection, mentor: str, first: int | None, notice: int, now: int) -> int:
    """When this mentor's entry stops being exact (see the module's docstring)."""
    until = now + REFRESH
    if first is not None:
        until = min(until, first - notice + 1)
    changes = conn.execute(
        select(
            func.min(bookings.c.hold_expires_at).filter(bookings.c.status == "held"),
            func.min(bookings.c.respond_by),
        ).where(
            bookings.c.mentor == mentor,
            bookings.c.active,
            or_(bookings.c.hold_expires_at > now, bookings.c.respond_by > now),
        )
    ).one()
    for moment in changes:
        if moment is not None and moment > now:
            until = min(until, int(moment))
    return max(until, now + 1)


def _write(conn: Connection, listing: dict[str, Any], first: int | None, valid_until: int, now: int) -> None:
    entry = {
        "listing_id": listing["id"],
        "mentor": listing["owner"],
        "skill": listing["skill"],
        "next_free_at": first,
        "valid_until": valid_until,
        "computed_at": now,
    }
    # One statement: two writers of one entry at once (a search and the pass, two replicas) never
    # meet a unique violation.
    conn.execute(upsert(conn, listing_free, entry, ["listing_id"]))


def refresh(conn: Connection, rows: Iterable[dict[str, Any]], now: int) -> int:
    """Recompute these listings' entries (first free slot in [now, now + WINDOW)); how many."""
    done = 0
    for listing in rows:
        # Lock (PostgreSQL) or take the write lock by writing first (SQLite), then read: a hold that
        # commits meanwhile invalidates after this entry is written, never before.
        lock_free_time(conn, listing["owner"])
        _write(conn, listing, None, 0, now)
        try:
            starts, _, session = listing_slots(conn, listing, start=now, end=now + WINDOW, now=now)
        except NotBookable:
            continue
        first = starts[0] if starts else None
        _write(
            conn,
            listing,
            first,
            _valid_until(conn, listing["owner"], first, session.notice_minutes * 60, now),
            now,
        )
        done += 1
    return done


def free_within(now: int, seconds: int) -> Any:
    """A free slot in [now, now + seconds), by the listing's exact entry (the query joins listing_free)."""
    return and_(
        listing_free.c.next_free_at >= now,
        listing_free.c.next_free_at < now + seconds,
        listing_free.c.valid_until > now,
    )


class FreeIndexPass(PeriodicPass):
    """Keeps entries fresh in a thread of the API process: every `interval` seconds, recompute those
    that are stale or about to be, a batch at a time (replicas doing the same work write the same)."""

    name = "free-time index"
    log = log

    def __init__(
        self, engine: Engine, *, clock: Callable[[], float], interval: float = 30.0, batch: int = 100
    ) -> None:
        self.engine = engine
        self.clock = clock
        super().__init__()
        self.interval = interval
        self.batch = batch

    def run_once(self) -> int:
        """Recompute, a batch per transaction (holds of those mentors wait at most one batch), every
        entry that is stale or will be before the next pass: a search then finds them exact. After a
        migration that is every listing, in one pass."""
        now = int(self.clock())
        done, after = 0, 0
        while True:
            with self.engine.begin() as conn:
                batch = stale(conn, listings.c.id > after, now + int(self.interval), self.batch)
                done += refresh(conn, batch, now)
            if len(batch) < self.batch:
                return done
            after = int(batch[-1]["id"])
