"""Availability and slots over HTTP: a mentor publishes weekly hours in their time zone; anyone
reads a listing's bookable slots in their own."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import select

from api.booking.schemas import AvailabilityIn, AvailabilityPublic, SlotPublic, SlotsPublic, _zone
from api.booking.service import NotBookable, listing_slots, load_availability_public, save_availability
from api.deps import ClockDep, ConnDep, CurrentSession
from api.models import ERRORS, Address
from api.pagination import CursorQuery, LimitQuery
from booking.slots import iso
from db.market import listings

router = APIRouter(tags=["booking"], responses=ERRORS)
MAX_RANGE_DAYS = 62


@router.put("/me/availability", response_model=AvailabilityPublic, summary="Publish your weekly hours")
def put_availability(
    body: AvailabilityIn, session: CurrentSession, conn: ConnDep, clock: ClockDep
) -> AvailabilityPublic:
    return save_availability(conn, session.address, body, int(clock()))


@router.get(
    "/users/{address}/availability",
    response_model=AvailabilityPublic,
    summary="A mentor's weekly hours, exceptions and daily cap",
    responses={404: {}},
)
def get_availability(address: Address, conn: ConnDep) -> AvailabilityPublic:
    found = load_availability_public(conn, address)
    if found is None:
        raise HTTPException(404, f"{address} has not published availability")
    return found


def _instant(text: str, zone: ZoneInfo, field: str) -> int:
    """An ISO date (its midnight in `zone`) or date-time (in `zone` when it names no offset)."""
    try:
        if len(text) == 10:
            return int(datetime.combine(date.fromisoformat(text), datetime.min.time(), zone).timestamp())
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            422, f"{field}: an ISO 8601 date or date-time, e.g. 2026-06-01 or 2026-06-01T09:00+02:00"
        ) from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp())


@router.get(
    "/listings/{listing_id}/slots",
    response_model=SlotsPublic,
    summary="Bookable slots of a listing, in your time zone",
    responses={404: {}, 409: {}},
)
def get_slots(
    listing_id: Annotated[int, Path(ge=1, lt=2**31)],
    conn: ConnDep,
    clock: ClockDep,
    start: Annotated[
        str | None, Query(alias="from", max_length=40, description="ISO date or date-time (default: now)")
    ] = None,
    end: Annotated[
        str | None,
        Query(
            alias="to",
            max_length=40,
            description=f"ISO date or date-time (default: 7 days on; at most {MAX_RANGE_DAYS})",
        ),
    ] = None,
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA zone to write times in (default: the mentor's)")
    ] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> SlotsPublic:
    row = conn.execute(select(listings).where(listings.c.id == listing_id)).mappings().first()
    if row is None or not row["active"]:
        raise HTTPException(404, "no such listing")
    if tz is not None:
        try:
            _zone(tz)
        except ValueError as exc:
            raise HTTPException(422, f"tz: {exc}") from None
    now = int(clock())
    viewer = ZoneInfo(tz or "UTC")
    lo = _instant(start, viewer, "from") if start else now
    hi = _instant(end, viewer, "to") if end else lo + 7 * 86400
    if hi <= lo:
        raise HTTPException(422, "to must be after from")
    if hi - lo > MAX_RANGE_DAYS * 86400:
        raise HTTPException(422, f"ask for at most {MAX_RANGE_DAYS} days at a time")
    if cursor is not None:
        lo = max(lo, int(cursor.split(".")[0]) + 1)  # after the last slot of the previous page
    try:
        starts, mentor, session = listing_slots(conn, dict(row), start=lo, end=hi, now=now)
    except NotBookable as exc:
        raise HTTPException(409, str(exc)) from None
    zone = tz or (mentor.timezone if mentor else "UTC")
    length = session.duration_minutes * 60
    page = starts[:limit]
    return SlotsPublic(
        data=[
            SlotPublic(start=iso(s, zone), end=iso(s + length, zone), starts_at=s, ends_at=s + length)
            for s in page
        ],
        next_cursor=str(page[-1]) if len(starts) > limit else None,
        total=len(starts) if cursor is None else None,
        timezone=zone,
        mentor_timezone=mentor.timezone if mentor else None,
    )
