"""Sessions as iCalendar (RFC 5545, with the `icalendar` library): one invite per booking — a stable
UID, its SEQUENCE, METHOD:CANCEL once it will not happen — and a private feed of a user's upcoming
sessions. Instants are written in UTC, so every calendar shows them in its owner's own zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event

PRODID = "-//Skillchain//Sessions//EN"
CANCELLED = {"expired", "withdrawn", "declined", "cancelled"}


def _event(booking: dict[str, Any], state: str, title: str, now: int) -> Event:
    event = Event()
    event.add("uid", f"{booking['id']}@skillchain")
    event.add("sequence", int(booking.get("sequence", 0)))
    event.add("dtstamp", datetime.fromtimestamp(now, UTC))
    event.add("dtstart", datetime.fromtimestamp(booking["starts_at"], UTC))
    event.add("dtend", datetime.fromtimestamp(booking["ends_at"], UTC))
    event.add("summary", title)
    event.add(
        "status",
        "CANCELLED"
        if state in CANCELLED
        else "CONFIRMED"
        if state in ("confirmed", "completed")
        else "TENTATIVE",
    )
    event.add(
        "description", f"Skillchain session ({state}). Open the dApp to join the room at the session's time."
    )
    return event


def invite(booking: dict[str, Any], state: str, title: str, now: int) -> bytes:
    """One booking as an invite: METHOD:REQUEST while it may happen, METHOD:CANCEL once it will not."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if state in CANCELLED else "REQUEST")
    cal.add_component(_event(booking, state, title, now))
    return bytes(cal.to_ical())


def feed(entries: Iterable[tuple[dict[str, Any], str, str]], now: int, owner: str) -> bytes:
    """A user's upcoming sessions (booking, state, title) as one calendar to subscribe to."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Skillchain sessions of {owner[:6]}…{owner[-4:]}")
    for booking, state, title in entries:
        cal.add_component(_event(booking, state, title, now))
    return bytes(cal.to_ical())
