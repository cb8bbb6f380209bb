"""Availability and slots, knowing no HTTP: read and write a mentor's availability, a listing's
session terms, and compute a listing's free slots with booking/slots.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from api.booking.schemas import AvailabilityIn, AvailabilityPublic, ExceptionIn, RuleIn, clock, minutes
from api.models import SessionOffering
from booking.slots import Availability, DateException, Offering, WeeklyRule
from db.booking import availability, availability_exceptions, availability_rules, invalidate_free_time


class NotBookable(Exception):
    """The listing has no session offering (it is custom work: propose an engagement instead)."""


def session_columns(offering: SessionOffering | None) -> dict[str, Any]:
    """A listing's session terms as its columns (all None for custom work)."""
    if offering is None:
        return dict.fromkeys(
            [
                "session_minutes",
                "buffer_minutes",
                "notice_minutes",
                "horizon_days",
                "step_minutes",
                "booking_mode",
                "free_cancel_hours",
            ]
        )
    return {
        "session_minutes": offering.duration_minutes,
        "buffer_minutes": offering.buffer_minutes,
        "notice_minutes": offering.notice_minutes,
        "horizon_days": offering.horizon_days,
        "step_minutes": offering.step_minutes,
        "booking_mode": offering.booking,
        "free_cancel_hours": offering.free_cancel_hours,
    }


def session_of(row: Mapping[str, Any]) -> SessionOffering | None:
    if row.get("session_minutes") is None:
        return None
    return SessionOffering(
        duration_minutes=row["session_minutes"],
        buffer_minutes=row["buffer_minutes"] or 0,
        notice_minutes=row["notice_minutes"] or 0,
        horizon_days=row["horizon_days"] or 60,
        step_minutes=row["step_minutes"],
        booking=row["booking_mode"] or "request",
        free_cancel_hours=24 if row.get("free_cancel_hours") is None else row["free_cancel_hours"],
    )


def offering_of(session: SessionOffering) -> Offering:
    return Offering(
        duration=session.duration_minutes * 60,
        buffer=session.buffer_minutes * 60,
        min_notice=session.notice_minutes * 60,
        horizon=session.horizon_days * 86400,
        step=(session.step_minutes or 0) * 60,
    )


def save_availability(conn: Connection, address: str, body: AvailabilityIn, now: int) -> AvailabilityPublic:
    """Replace the mentor's availability as a whole (one transaction: never half old, half new)."""
    invalidate_free_time(conn, address)
    conn.execute(delete(availability_rules).where(availability_rules.c.address == address))
    conn.execute(delete(availability_exceptions).where(availability_exceptions.c.address == address))
    conn.execute(delete(availability).where(availability.c.address == address))
    conn.execute(
        insert(availability).values(
            address=address, timezone=body.timezone, daily_cap=body.daily_cap, updated_at=now
        )
    )
    rules = {
        (r.weekday, minutes(r.start)): minutes(r.end) for r in body.rules
    }  # a repeated start: the last wins
    if rules:
        conn.execute(
            insert(availability_rules),
            [{"address": address, "weekday": w, "start_min": s, "end_min": e} for (w, s), e in rules.items()],
        )
    if body.exceptions:
        conn.execute(
            insert(availability_exceptions),
            [
                {
                    "address": address,
                    "day": ex.date.isoformat(),
                    "kind": ex.kind,
                    "start_min": minutes(ex.start) if ex.start else None,
                    "end_min": minutes(ex.end) if ex.end else None,
                }
                for ex in body.exceptions
            ],
        )
    public = load_availability_public(conn, address)
    assert public is not None
    return public


def load_availability(conn: Connection, address: str) -> Availability | None:
    head = conn.execute(select(availability).where(availability.c.address == address)).mappings().first()
    if head is None:
        return None
    rules = conn.execute(select(availability_rules).where(availability_rules.c.address == address)).mappings()
    exceptions = conn.execute(
        select(availability_exceptions).where(availability_exceptions.c.address == address)
    ).mappings()
    return Availability(
        timezone=head["timezone"],
        rules=tuple(sorted(WeeklyRule(r["weekday"], r["start_min"], r["end_min"]) for r in rules)),
        exceptions=tuple(
            sorted(
                DateException(date.fromisoformat(x["day"]), x["kind"], x["start_min"], x["end_min"])
                for x in exceptions
            )
        ),
        daily_cap=head["daily_cap"],
    )


def load_availability_public(conn: Connection, address: str) -> AvailabilityPublic | None:
    a = load_availability(conn, address)
    if a is None:
        return None
    return AvailabilityPublic(
        address=address,
        timezone=a.timezone,
        daily_cap=a.daily_cap,
        rules=[RuleIn(weekday=r.weekday, start=clock(r.start), end=clock(r.end)) for r in a.rules],
        exceptions=[
            ExceptionIn(
                date=x.day,
                kind=x.kind,
                start=clock(x.start) if x.start is not None else None,
                end=clock(x.end) if x.end is not None else None,
            )
            for x in a.exceptions
        ],
    )
