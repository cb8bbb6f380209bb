"""Moving a booking is decided by the database, not by the check before it: with the check taken
away, accepting a reschedule into a time another booking holds is still refused (SQLite's cells,
PostgreSQL's exclusion constraint) and the booking stays where it was; a free time moves it, cells
and all. Rows are written straight to the database (the HTTP path runs in test_booking_changes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import insert, select

from api.booking import changes
from api.booking.holds import SlotTaken, hold
from api.booking.prices import Price
from api.booking.schemas import AvailabilityIn
from api.booking.service import load_availability, save_availability
from booking.slots import local_day
from db.booking import booking_cells, booking_reschedules, bookings
from db.chain import milestones
from db.engine import make_engine
from db.market import listings
from db.migrate import upgrade
from tests.api import rows
from tests.api.booking_flow import EVERY_DAY
from tests.api.conftest import pg_database

MENTOR = "0x" + "aa" * 20
LEARNER, OTHER, ARBITER = "0x" + "bb" * 20, "0x" + "cc" * 20, "0x" + "dd" * 20
NOW = 1_800_000_000 // 86400 * 86400  # a midnight, UTC
T = NOW + 3 * 86400 + 10 * 3600  # three days on, 10:00


@contextmanager
def _database(kind: str, tmp_path: Any) -> Iterator[str]:
    if kind == "postgresql":
        with pg_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'moves.db'}"


def _booked(conn: Any) -> dict[str, Any]:
    """A confirmed request booking of LEARNER at T (accepted, its milestone funded) and OTHER's hold at
    T + 2 h, on one session listing of MENTOR."""
    save_availability(conn, MENTOR, AvailabilityIn.model_validate(EVERY_DAY), NOW)
    listing_id = conn.execute(
        insert(listings)
        .values(
            owner=MENTOR,
            kind="offer",
            skill="python",
            title="Python hour",
            description="",
            price=1,
            currency="ETH",
            languages='["en"]',
            active=True,
            created_at=NOW,
            updated_at=NOW,
            session_minutes=60,
            buffer_minutes=0,
            notice_minutes=60,
            horizon_days=30,
            booking_mode="request",
        )
        .returning(listings.c.id)
    ).scalar_one()
    listing = dict(conn.execute(select(listings).where(listings.c.id == listing_id)).mappings().one())
    availability = load_availability(conn, MENTOR)
    price = Price(rows.ZERO, 10**15, "ETH")
    made = []
    for n, (learner, start) in enumerate(((LEARNER, T), (OTHER, T + 2 * 3600)), start=1):
        made.append(
            hold(
                conn,
                listing,
                availability,
                booking_id="0x" + f"{n:064x}",
                learner=learner,
                starts_at=start,
                now=NOW,
                hold_seconds=600,
                grace_seconds=7 * 86400,
                price=price,
                terms_digest="0x" + f"{n:064x}",
            )
        )
    rows.engagement(
        conn,
        id=1,
        client=LEARNER,
        provider=MENTOR,
        arbiter=ARBITER,
        accepted=True,
        total_amount=10**15,
        terms_digest=made[0]["terms_digest"],
    )
    conn.execute(
        insert(milestones).values(
            chain_id=31337,
            engagement_id=1,
            idx=0,
            amount=10**15,
            due_date=made[0]["due_date"],
            state="funded",
        )
    )
    return {"listing": listing, "availability": availability, "booking": made[0]}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_move_into_a_held_time_is_refused_by_the_database(
    kind: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _database(kind, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            fixture = _booked(conn)
        booking, listing, availability = fixture["booking"], fixture["listing"], fixture["availability"]
        with engine.begin() as conn:
            with pytest.raises(SlotTaken):  # the check sees OTHER's hold
                changes.propose(
                    conn, booking, listing, availability, by=LEARNER, starts_at=T + 2 * 3600, now=NOW
                )
        # Take the check away: the database alone must still refuse the overlap.
        monkeypatch.setattr(
            changes,
            "check_slot",
            lambda conn, mentor, offering, avail, start, now, **_: local_day(start, UTC),
        )
        with engine.begin() as conn:
            proposal, _ = changes.propose(
                conn, booking, listing, availability, by=LEARNER, starts_at=T + 2 * 3600 + 1800, now=NOW
            )
        with engine.begin() as conn:
            current = dict(
                conn.execute(select(bookings).where(bookings.c.id == booking["id"])).mappings().one()
            )
            with pytest.raises(SlotTaken):
                changes.answer(
                    conn,
                    current,
                    availability,
                    listing,
                    proposal_id=proposal["id"],
                    by=MENTOR,
                    verdict="accept",
                    now=NOW,
                )
        with engine.begin() as conn:
            after = conn.execute(select(bookings).where(bookings.c.id == booking["id"])).mappings().one()
            assert (after["starts_at"], after["sequence"]) == (T, 0)
            assert (
                conn.execute(
                    select(booking_reschedules.c.status).where(booking_reschedules.c.id == proposal["id"])
                ).scalar_one()
                == "proposed"
            )
        # A free time moves it, its cells (SQLite) and block with it.
        with engine.begin() as conn:
            free, _ = changes.propose(
                conn, booking, listing, availability, by=LEARNER, starts_at=T + 5 * 3600, now=NOW
            )
            current = dict(
                conn.execute(select(bookings).where(bookings.c.id == booking["id"])).mappings().one()
            )
            changes.answer(
                conn,
                current,
                availability,
                listing,
                proposal_id=free["id"],
                by=MENTOR,
                verdict="accept",
                now=NOW,
            )
        with engine.begin() as conn:
            moved = conn.execute(select(bookings).where(bookings.c.id == booking["id"])).mappings().one()
            assert (moved["starts_at"], moved["block_start"], moved["sequence"]) == (
                T + 5 * 3600,
                T + 5 * 3600,
                1,
            )
            assert moved["funded_starts_at"] == T
            cells = sorted(
                conn.execute(
                    select(booking_cells.c.cell).where(booking_cells.c.booking_id == booking["id"])
                ).scalars()
            )
            if kind == "sqlite":
                assert cells == list(range((T + 5 * 3600) // 300, (T + 6 * 3600) // 300))
            else:
                assert cells == []  # PostgreSQL: the exclusion constraint, no cells
        # The old time is free for OTHER now, in the database too.
        with engine.begin() as conn:
            hold(
                conn,
                listing,
                availability,
                booking_id="0x" + f"{9:064x}",
                learner=OTHER,
                starts_at=T,
                now=NOW,
                hold_seconds=600,
                grace_seconds=7 * 86400,
                price=Price(rows.ZERO, 10**15, "ETH"),
                terms_digest="0x" + f"{9:064x}",
            )
        engine.dispose()
