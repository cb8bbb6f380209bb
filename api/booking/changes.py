"""Changing a confirmed session, knowing no HTTP: either party proposes a new slot inside the
reschedule grace and the other accepts (the booking moves through the same database constraints as
a new booking, its invite's SEQUENCE goes up) or declines; and the listing's cancellation policy —
what the contract enforces (the mentor's `cancel` refunds everything; the learner takes back an
undelivered session after its due date) and what only the policy says (a free cancellation by the
learner is a request to the mentor to refund, with the dispute as the remedy)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.booking.holds import SlotTaken, check_slot, claim, release_lapsed, state_of
from api.booking.service import offering_of, session_of
from api.models import SessionOffering
from booking.slots import Availability, Offering, blocking, iso
from bus.outbox import OutboxItem
from db import notifications as notifications_table
from db.booking import booking_cells, booking_days, booking_reschedules, bookings, invalidate_free_time
from db.chain import engagements, milestones
from db.notifications import reminders_sent

# The mentor needs time after the session to mark it delivered before the on-chain due date.
DELIVERY_MARGIN = 3600
# A proposal waits this long for an answer (and never past the proposed start).
ANSWER_SECONDS = 48 * 3600


class NotChangeable(Exception):
    """The booking cannot be changed now (its state, who asks, or the grace): the message says why."""


@dataclass(frozen=True)
class Engagement:
    chain_id: int
    id: int
    status: str
    milestone_state: str


def engagement_of(conn: Connection, booking: dict[str, Any]) -> Engagement | None:
    """The booking's funded engagement (matched by its parties, as everywhere) and its one session's
    milestone state."""
    key = (
        engagements.c.booking_ref == booking["id"]
        if booking["mode"] == "instant"
        else engagements.c.terms_digest == booking["terms_digest"]
    )
    row = conn.execute(
        select(engagements.c.chain_id, engagements.c.id, engagements.c.status, milestones.c.state)
        .join(
            milestones,
            (milestones.c.chain_id == engagements.c.chain_id)
            & (milestones.c.engagement_id == engagements.c.id)
            & (milestones.c.idx == 0),
        )
        .where(
            key,
            engagements.c.client == booking["learner"],
            engagements.c.provider == booking["mentor"],
            engagements.c.accepted,
        )
        # Funded twice (a wallet and a card at once): the one still standing.
        .order_by(engagements.c.status != "active", engagements.c.id)
    ).first()
    if row is None:
        return None
    return Engagement(int(row.chain_id), int(row.id), str(row.status), str(row.state))


def locked(conn: Connection, booking_id: str) -> dict[str, Any]:
    """The booking's row, locked until the transaction ends (PostgreSQL; SQLite has one writer):
    proposals and answers of one booking happen one after the other."""
    return dict(
        conn.execute(select(bookings).where(bookings.c.id == booking_id).with_for_update()).mappings().one()
    )


def open_proposal(conn: Connection, booking_id: str, now: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(booking_reschedules).where(
                booking_reschedules.c.booking_id == booking_id,
                booking_reschedules.c.status == "proposed",
                booking_reschedules.c.expires_at > now,
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def _changeable(conn: Connection, booking: dict[str, Any], now: int) -> Engagement:
    state = state_of(conn, booking, now)
    if state == "requested":
        raise NotChangeable(
            "the mentor has not accepted this request yet: withdraw it (your money comes back) and book "
            "another time instead"
        )
    if state != "confirmed":
        raise NotChangeable(f"this booking is {state}: only a confirmed session can be changed")
    found = engagement_of(conn, booking)
    if found is None:  # confirmed means its engagement is indexed; say so rather than guess
        raise NotChangeable("this booking's engagement is not indexed yet: try again in a moment")
    if found.status != "active":
        raise NotChangeable(f"its engagement is {found.status}: the session can no longer be changed")
    if found.milestone_state != "funded":
        raise NotChangeable(f"the session was already {found.milestone_state}: it can no longer be moved")
    return found


def _movable(conn: Connection, booking: dict[str, Any], now: int) -> Engagement:
    """Changeable, and still holding its time in the calendar (so its move is held to the same
    constraints): a booking freed when its hold or answer time passed, then funded or accepted late,
    blocks nothing, and moving it would sell its new time twice."""
    engagement = _changeable(conn, booking, now)
    if not booking["active"]:
        raise NotChangeable(
            "this session no longer holds its time in the mentor's calendar (it was freed when its hold "
            "or answer time passed): the mentor may keep or cancel it, but it cannot be moved"
        )
    return engagement


def propose(
    conn: Connection,
    booking: dict[str, Any],
    listing: dict[str, Any],
    availability: Availability | None,
    *,
    by: str,
    starts_at: int,
    now: int,
) -> tuple[dict[str, Any], list[OutboxItem]]:
    """A new proposal by `by` (either party) to move the session to `starts_at`; an older open one
    is superseded. Checked like a booking (a slot of the listing, free apart from this booking, under
    the daily cap), and it must end an hour before the on-chain due date, which cannot move."""
    booking = locked(conn, booking["id"])
    engagement = _movable(conn, booking, now)
    session = session_of(listing)
    if session is None or availability is None:
        raise NotChangeable("the listing no longer offers sessions or the mentor has no availability")
    if starts_at == booking["starts_at"]:
        raise NotChangeable("that is the session's current time")
    offering = _booked_offering(booking, session)
    ends_at = starts_at + offering.duration
    _inside_grace(booking, ends_at)
    check_slot(conn, booking["mentor"], offering, availability, starts_at, now, exclude=booking["id"])
    conn.execute(
        update(booking_reschedules)
        .where(booking_reschedules.c.booking_id == booking["id"], booking_reschedules.c.status == "proposed")
        .values(status="superseded", answered_at=now)
    )
    row = {
        "booking_id": booking["id"],
        "proposed_by": by,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": "proposed",
        "created_at": now,
        "expires_at": min(now + ANSWER_SECONDS, starts_at),
        "answered_at": None,
    }
    row["id"] = conn.execute(
        insert(booking_reschedules).values(**row).returning(booking_reschedules.c.id)
    ).scalar_one()
    other = booking["mentor"] if by == booking["learner"] else booking["learner"]
    items = [_notify(conn, other, "reschedule_proposed", booking, engagement, by, now, starts_at=starts_at)]
    return row, items


def _booked_offering(booking: dict[str, Any], session: SessionOffering) -> Offering:
    """The listing's slot grid and buffers, with the length the session was booked (and paid) for."""
    return replace(offering_of(session), duration=int(booking["ends_at"]) - int(booking["starts_at"]))


def _inside_grace(booking: dict[str, Any], ends_at: int) -> None:
    latest = int(booking["due_date"]) - DELIVERY_MARGIN
    if ends_at > latest:
        raise NotChangeable(
            f"a new time must end by {iso(latest, 'UTC')} (an hour before the on-chain due date, "
            f"{iso(int(booking['due_date']), 'UTC')}, which a reschedule cannot move): pick an earlier slot"
        )


def answer(
    conn: Connection,
    booking: dict[str, Any],
    availability: Availability | None,
    listing: dict[str, Any],
    *,
    proposal_id: int,
    by: str,
    verdict: str,
    now: int,
) -> tuple[dict[str, Any], list[OutboxItem]]:
    """`verdict` is accept or decline (by the other party) or withdraw (by the proposer). Accepting
    moves the booking in one savepoint: its cells and day seat are taken again, so a slot sold
    meanwhile refuses it (SlotTaken) and nothing changes."""
    booking = locked(conn, booking["id"])
    proposal = open_proposal(conn, booking["id"], now)
    if proposal is None or proposal["id"] != proposal_id:
        raise LookupError("no open proposal with this id for this booking (answered, replaced or expired)")
    mine = proposal["proposed_by"] == by
    if verdict == "withdraw" and not mine:
        raise NotChangeable("only who proposed a new time can withdraw it: accept or decline it instead")
    if verdict in ("accept", "decline") and mine:
        raise NotChangeable("the other party answers your proposal: you may withdraw it")
    if verdict != "accept":
        status = "withdrawn" if verdict == "withdraw" else "declined"
        _close(conn, proposal_id, status, now)
        items = []
        if verdict == "decline":
            engagement = engagement_of(conn, booking)
            if engagement is not None:
                items.append(
                    _notify(
                        conn, proposal["proposed_by"], "reschedule_declined", booking, engagement, by, now
                    )
                )
        return proposal | {"status": status, "answered_at": now}, items
    engagement = _movable(conn, booking, now)
    session = session_of(listing)
    if session is None or availability is None:
        raise NotChangeable("the listing no longer offers sessions or the mentor has no availability")
    offering = _booked_offering(booking, session)
    start = int(proposal["starts_at"])
    _inside_grace(booking, start + offering.duration)
    release_lapsed(conn, booking["mentor"], now)  # lapsed holds and ended requests give their cells back
    day = check_slot(conn, booking["mentor"], offering, availability, start, now, exclude=booking["id"])
    block = blocking(start, offering.duration, offering.buffer)
    try:
        with conn.begin_nested():
            conn.execute(delete(booking_cells).where(booking_cells.c.booking_id == booking["id"]))
            conn.execute(delete(booking_days).where(booking_days.c.booking_id == booking["id"]))
            conn.execute(
                update(bookings)
                .where(bookings.c.id == booking["id"])
                .values(
                    starts_at=start,
                    ends_at=start + offering.duration,
                    block_start=block.start,
                    block_end=block.end,
                    local_day=day.isoformat(),
                    sequence=int(booking.get("sequence") or 0) + 1,
                    funded_starts_at=booking.get("funded_starts_at") or booking["starts_at"],
                )
            )
            claim(conn, booking["mentor"], booking["id"], block, day.isoformat(), availability.daily_cap)
    except IntegrityError:
        raise SlotTaken("that time was booked meanwhile: propose another") from None
    _close(conn, proposal_id, "accepted", now)
    invalidate_free_time(conn, booking["mentor"])
    # The "starts within the hour" reminder is due again, for the new time.
    conn.execute(
        delete(reminders_sent).where(
            reminders_sent.c.booking_id == booking["id"], reminders_sent.c.kind == "session_starting"
        )
    )
    items = [
        _notify(conn, party, "rescheduled", booking, engagement, by, now, starts_at=start)
        for party in (booking["learner"], booking["mentor"])
    ]
    return proposal | {"status": "accepted", "answered_at": now}, items


def _close(conn: Connection, proposal_id: int, status: str, now: int) -> None:
    """Answer a proposal once: one still open, or LookupError (someone answered it just now)."""
    done = conn.execute(
        update(booking_reschedules)
        .where(booking_reschedules.c.id == proposal_id, booking_reschedules.c.status == "proposed")
        .values(status=status, answered_at=now)
    )
    if done.rowcount != 1:
        raise LookupError("this proposal was answered or replaced meanwhile")


@dataclass(frozen=True)
class Cancellation:
    """What a cancellation does: `free` under the listing's policy, the words to show, and whether the
    caller gets the on-chain `cancel` to send (the mentor's: a full refund)."""

    free: bool
    explanation: str
    mentor_tx: bool


def free_hours(booking: dict[str, Any], session: SessionOffering | None) -> int:
    """The policy the session was booked under (bookings made before it was kept: the listing's now)."""
    if booking.get("free_cancel_hours") is not None:
        return int(booking["free_cancel_hours"])
    return session.free_cancel_hours if session is not None else 24


def free_until(booking: dict[str, Any], session: SessionOffering | None) -> int:
    return int(booking["starts_at"]) - free_hours(booking, session) * 3600


def policy_words(session: SessionOffering) -> str:
    """The listing's cancellation policy in words, shown before booking."""
    hours = session.free_cancel_hours
    until = "until the session starts" if hours == 0 else f"until {hours} h before the session"
    return (
        f"Free cancellation {until}: the mentor refunds it in full on-chain. Later, the session is paid. "
        "The mentor may cancel any time, with a full refund. A session that does not happen and is not "
        "marked delivered can be taken back by the learner after its due date; if it is marked delivered "
        "anyway, open a dispute."
    )


def cancel(
    conn: Connection,
    booking: dict[str, Any],
    listing: dict[str, Any] | None,
    *,
    by: str,
    now: int,
) -> tuple[Cancellation, list[OutboxItem]]:
    """The mentor: the `cancel` transaction to send (everything back to the payer). The learner, in
    the free period: recorded, and the mentor asked to refund; past it: NotChangeable, in words."""
    booking = locked(conn, booking["id"])
    engagement = _changeable(conn, booking, now)
    session = session_of(listing) if listing is not None else None
    due = iso(int(booking["due_date"]), "UTC")
    if by == booking["mentor"]:
        return (
            Cancellation(
                free=True,
                explanation="Cancelling refunds the learner in full (on-chain, to whoever paid) and frees "
                "the slot once it is indexed.",
                mentor_tx=True,
            ),
            [],
        )
    limit, hours = free_until(booking, session), free_hours(booking, session)
    if now > limit:
        raise NotChangeable(
            f"the free cancellation ended at {iso(limit, 'UTC')} ({hours} h before the "
            "session): under the listing's policy the session is paid. Propose another time instead, or "
            "ask the mentor, who may still cancel it with a full refund."
        )
    if booking.get("cancel_requested_at") is None:
        conn.execute(update(bookings).where(bookings.c.id == booking["id"]).values(cancel_requested_at=now))
        items = [_notify(conn, booking["mentor"], "cancel_requested", booking, engagement, by, now)]
    else:
        items = []  # asked already: once is enough
    return (
        Cancellation(
            free=True,
            explanation="Cancelled in time under the listing's policy: the mentor is asked to refund you in "
            "full (the contract cannot make them). If they neither refund nor hold the session, you can "
            f"take the money back yourself after the due date ({due}); if they mark it delivered anyway, "
            "open a dispute.",
            mentor_tx=False,
        ),
        items,
    )


def _notify(
    conn: Connection,
    address: str,
    kind: str,
    booking: dict[str, Any],
    engagement: Engagement,
    by: str,
    now: int,
    *,
    starts_at: int | None = None,
) -> OutboxItem:
    payload = {
        "kind": kind,
        "engagement_id": engagement.id,
        "milestone": None,
        "token_id": None,
        "by": by,
        "tx": None,
        "booking": booking["id"],
        "starts_at": starts_at if starts_at is not None else booking["starts_at"],
    }
    nid = notifications_table.add(
        conn, address, payload, now=now, chain_id=engagement.chain_id, engagement_id=engagement.id
    )
    return OutboxItem(
        kind="notification", audience=frozenset({address}), payload={"id": nid, **payload, "created_at": now}
    )
