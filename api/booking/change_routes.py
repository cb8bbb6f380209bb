"""Changing a confirmed session over HTTP: propose a new time, answer a proposal, cancel. The rules
live in api/booking/changes.py; this module turns their refusals into 4xx in words."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from sqlalchemy import select

from api.booking import changes
from api.booking.holds import SlotInvalid, SlotTaken
from api.booking.routes import BookingId, _own_booking, _public
from api.booking.schemas import BookingCancelPublic, RescheduleAnswerIn, RescheduleIn, ReschedulePublic
from api.booking.service import load_availability
from api.deps import ChainDep, ClockDep, ConnDep, CurrentSession, published
from api.models import ERRORS
from bus import outbox
from bus.outbox import OutboxItem
from db.market import listings

router = APIRouter(tags=["booking"], responses=ERRORS)


def _listing_of(conn: Any, listing_id: int) -> dict[str, Any] | None:
    """The booking's listing, even if its mentor has since deactivated it (the booking stands)."""
    row = conn.execute(select(listings).where(listings.c.id == listing_id)).mappings().first()
    return dict(row) if row is not None else None


def _session_listing(conn: Any, listing_id: int) -> dict[str, Any]:
    """A move needs the listing's slots: 404 in words once its mentor deleted it (cancelling works)."""
    row = _listing_of(conn, listing_id)
    if row is None:
        raise HTTPException(404, "this booking's listing no longer exists: it can be cancelled, not moved")
    return row


def _publish(request: Request, conn: Any, items: list[OutboxItem], now: int) -> None:
    """The notifications a change made, on the stream; committed at once (the outbox's lock is held
    until the commit), so call it last."""
    outbox.append(conn, items, now=now)
    published(request, conn)


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, SlotInvalid):
        return HTTPException(422, str(exc))
    if isinstance(exc, SlotTaken):
        return HTTPException(409, str(exc), headers={"Retry-After": "0"})
    if isinstance(exc, LookupError):
        return HTTPException(404, str(exc))
    return HTTPException(409, str(exc))


@router.post(
    "/bookings/{booking_id}/reschedule",
    response_model=ReschedulePublic,
    status_code=201,
    summary="Propose a new time for a confirmed session (the other party accepts or declines)",
    description="Either party proposes a slot of the listing that ends at least an hour before the "
    "on-chain due date (the session's original end plus the reschedule grace, which cannot move). A newer "
    "proposal replaces an open one. The proposed slot is not held: accepting takes it, or is refused "
    "when it was booked meanwhile.",
    responses={404: {}, 409: {}, 422: {}},
)
def propose_reschedule(
    booking_id: BookingId,
    body: RescheduleIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
) -> ReschedulePublic:
    booking = dict(_own_booking(conn, booking_id, session.address))
    listing = _session_listing(conn, booking["listing_id"])
    now = int(clock())
    try:
        row, items = changes.propose(
            conn,
            booking,
            listing,
            load_availability(conn, booking["mentor"]),
            by=session.address,
            starts_at=body.starts_at,
            now=now,
        )
    except (changes.NotChangeable, SlotInvalid, SlotTaken) as exc:
        raise _refused(exc) from None
    _publish(request, conn, items, now)
    return ReschedulePublic(**row)


@router.post(
    "/bookings/{booking_id}/reschedule/{proposal_id}",
    response_model=ReschedulePublic,
    summary="Accept or decline a proposed time (the other party), or withdraw it (who proposed it)",
    description="Accepting moves the booking: its invite's SEQUENCE goes up and both parties get the "
    "updated invite; the start reminder is due again for the new time.",
    responses={404: {}, 409: {}, 422: {}},
)
def answer_reschedule(
    booking_id: BookingId,
    proposal_id: Annotated[int, Path(ge=1, lt=2**31)],
    body: RescheduleAnswerIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
) -> ReschedulePublic:
    booking = dict(_own_booking(conn, booking_id, session.address))
    listing = _session_listing(conn, booking["listing_id"])
    now = int(clock())
    try:
        row, items = changes.answer(
            conn,
            booking,
            load_availability(conn, booking["mentor"]),
            listing,
            proposal_id=proposal_id,
            by=session.address,
            verdict=body.verdict,
            now=now,
        )
    except (changes.NotChangeable, SlotInvalid, SlotTaken, LookupError) as exc:
        raise _refused(exc) from None
    _publish(request, conn, items, now)
    return ReschedulePublic(**row)


@router.post(
    "/bookings/{booking_id}/cancel",
    response_model=BookingCancelPublic,
    summary="Cancel a confirmed session under the listing's cancellation policy",
    description="The mentor gets the cancel(id) transaction: a full refund to the payer. The learner, "
    "inside the free period, records the cancellation and the mentor is asked to refund (the contract "
    "cannot make them; the explanation says what the learner can do then); after it, 409 in words.",
    responses={404: {}, 409: {}},
)
def cancel_booking(
    booking_id: BookingId,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
    chain: ChainDep,
) -> BookingCancelPublic:
    booking = dict(_own_booking(conn, booking_id, session.address))
    listing = _listing_of(conn, booking["listing_id"])
    now = int(clock())
    try:
        result, items = changes.cancel(conn, booking, listing, by=session.address, now=now)
    except changes.NotChangeable as exc:
        raise _refused(exc) from None
    tx = None
    title = listing["title"] if listing is not None else "a deleted listing"
    if result.mentor_tx:
        engagement = changes.engagement_of(conn, booking)
        assert engagement is not None  # changeable means indexed and accepted
        tx = chain.builder.build(
            "SkillEscrow",
            "cancel",
            [engagement.id],
            description=f"Cancel the session of {title!r}: a full refund to the payer",
            sender=session.address,
        )
    refreshed = _own_booking(conn, booking_id, session.address)
    answer = BookingCancelPublic(
        booking=_public(conn, refreshed, now), free=result.free, explanation=result.explanation, tx=tx
    )
    _publish(request, conn, items, now)
    return answer
