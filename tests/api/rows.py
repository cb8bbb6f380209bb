"""Read-model rows written straight to the database, for tests of what sits on top of them (messages,
rooms, evidence): an indexed engagement, a booking. The indexer and the booking flow that write
them for real are tested on their own (tests/indexer, tests/api/test_bookings.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from db.booking import bookings
from db.chain import engagements

ZERO = "0x" + "00" * 20


def engagement(
    conn: Connection, *, id: int, client: str, provider: str, arbiter: str, **columns: Any
) -> None:
    """An indexed engagement between `client` and `provider` (active, one milestone, unless told)."""
    conn.execute(
        insert(engagements)
        .values(
            chain_id=31337,
            id=id,
            client=client,
            provider=provider,
            payer=client,
            token=ZERO,
            arbiter=arbiter,
            fee_bps=0,
            review_window=0,
            terms_digest="0x" + f"{id:064x}",
            external_ref="0x" + "00" * 32,
            total_amount=1,
            open_milestones=1,
            paid=False,
            status="active",
            created_block=1,
            created_tx="0x" + "11" * 32,
        )
        .values(**columns)
    )


def booking(conn: Connection, *, id: str, learner: str, mentor: str, starts_at: int, **columns: Any) -> None:
    """A one-hour session of `mentor` for `learner` (an instant booking's hold, unless told)."""
    ends_at = columns.pop("ends_at", starts_at + 3600)
    conn.execute(
        insert(bookings)
        .values(
            id=id,
            listing_id=1,
            mentor=mentor,
            learner=learner,
            starts_at=starts_at,
            ends_at=ends_at,
            block_start=starts_at,
            block_end=ends_at,
            local_day="2027-01-15",
            mode="instant",
            status="held",
            active=True,
            hold_expires_at=starts_at - 3600,
            token=ZERO,
            amount=10**15,
            due_date=ends_at + 7 * 86400,
            terms_digest="0x" + id[2:4] * 32,
            created_at=starts_at - 86400,
        )
        .values(**columns)
    )
