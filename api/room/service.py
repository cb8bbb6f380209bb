"""The room of a booked session, without HTTP: who may join and when, attendance, and the signals the
two parties exchange (written to the outbox sealed, for the other party's connection on whichever
replica holds it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from api.booking.holds import state_of
from api.messages.sealing import Sealer
from api.messages.service import OUTBOX_CONTEXT
from api.room.protocol import Attendance
from bus import outbox
from bus.outbox import OutboxItem
from db.booking import bookings
from db.chain import engagements
from db.room import room_attendance

EARLY_SECONDS = 10 * 60  # the room opens ten minutes before the session


class RoomRefused(Exception):
    """The room's socket closes (a refused join, a bad frame, a hang-up, the window's end); `code`
    is the WebSocket close code (api/room/protocol.py)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Room:
    booking_id: str
    learner: str
    mentor: str
    starts_at: int
    ends_at: int
    opens_at: int
    closes_at: int
    state: str  # the booking's state: confirmed (or completed) for a room that can open
    chain_id: int | None
    engagement_id: int | None

    @property
    def parties(self) -> tuple[str, str]:
        return (self.learner, self.mentor)

    def other(self, address: str) -> str:
        return self.mentor if address == self.learner else self.learner


def room_of(conn: Connection, booking_id: str, now: int, grace_seconds: int) -> Room:
    row = conn.execute(select(bookings).where(bookings.c.id == booking_id)).mappings().first()
    if row is None:
        raise RoomRefused(4404, "no such booking")
    booking = dict(row)
    instant = booking["mode"] == "instant"
    # The booking's engagement: by its reference (instant) or terms (request) *and* its parties — a
    # reference or a digest alone can be copied on-chain into someone else's engagement.
    engagement = conn.execute(
        select(engagements.c.chain_id, engagements.c.id)
        .where(
            engagements.c.booking_ref == booking_id
            if instant
            else engagements.c.terms_digest == booking["terms_digest"],
            engagements.c.client == booking["learner"],
            engagements.c.provider == booking["mentor"],
        )
        .order_by(engagements.c.id)
    ).first()
    return Room(
        booking_id=booking_id,
        learner=booking["learner"],
        mentor=booking["mentor"],
        starts_at=int(booking["starts_at"]),
        ends_at=int(booking["ends_at"]),
        opens_at=int(booking["starts_at"]) - EARLY_SECONDS,
        closes_at=int(booking["ends_at"]) + grace_seconds,
        state=state_of(conn, booking, now),
        chain_id=engagement.chain_id if engagement else None,
        engagement_id=engagement.id if engagement else None,
    )


def admit(room: Room, address: str, now: int) -> None:
    """Refuses, with the close code and reason a client shows, anyone who may not join now."""
    if address not in room.parties:
        raise RoomRefused(4403, "only the session's learner and mentor can join its room")
    if room.state not in ("confirmed", "completed") or room.engagement_id is None:
        raise RoomRefused(4409, f"the session is not confirmed (it is {room.state})")
    if now < room.opens_at:
        raise RoomRefused(4409, f"the room opens at {room.opens_at} (10 minutes before the session)")
    if now >= room.closes_at:
        raise RoomRefused(4409, f"the room closed at {room.closes_at}")


def attendance(conn: Connection, booking_id: str) -> list[Attendance]:
    rows = conn.execute(
        select(room_attendance)
        .where(room_attendance.c.booking_id == booking_id)
        .order_by(room_attendance.c.id)
    )
    return [Attendance(address=r.address, joined_at=r.joined_at, left_at=r.left_at) for r in rows]


def present(conn: Connection, booking_id: str, address: str) -> bool:
    """Whether `address` has a connection open now (joined and not left)."""
    return (
        conn.execute(
            select(room_attendance.c.id).where(
                room_attendance.c.booking_id == booking_id,
                room_attendance.c.address == address,
                room_attendance.c.left_at.is_(None),
            )
        ).first()
        is not None
    )


def joined(conn: Connection, room: Room, address: str, connection: str, now: int, sealer: Sealer) -> int:
    """Record the join (and close this wallet's earlier connections, here or on another replica)."""
    conn.execute(
        update(room_attendance)
        .where(
            room_attendance.c.booking_id == room.booking_id,
            room_attendance.c.address == address,
            room_attendance.c.left_at.is_(None),
        )
        .values(left_at=now)
    )
    attendance_id = conn.execute(
        insert(room_attendance)
        .values(booking_id=room.booking_id, address=address, joined_at=now)
        .returning(room_attendance.c.id)
    ).scalar_one()
    signal(conn, sealer, room, address, connection, {"type": "replaced"}, now, to_self=True)
    signal(
        conn, sealer, room, address, connection, {"type": "peer_joined", "address": address, "at": now}, now
    )
    return int(attendance_id)


def left(
    conn: Connection, room: Room, address: str, connection: str, attendance_id: int, now: int, sealer: Sealer
) -> None:
    moved = conn.execute(
        update(room_attendance)
        .where(room_attendance.c.id == attendance_id, room_attendance.c.left_at.is_(None))
        .values(left_at=now)
    ).rowcount
    if moved:  # not when a newer connection of the same wallet replaced this one
        signal(
            conn, sealer, room, address, connection, {"type": "peer_left", "address": address, "at": now}, now
        )


def signal(
    conn: Connection,
    sealer: Sealer,
    room: Room,
    sender: str,
    connection: str,
    frame: dict[str, Any],
    now: int,
    *,
    to_self: bool = False,
) -> None:
    """A frame for the other party's connection (or, `to_self`, for the sender's other connections),
    sealed in the outbox: SDP and candidates name network addresses."""
    outbox.append(conn, signal_items(sealer, room, sender, connection, [frame], to_self=to_self), now=now)


def signal_items(
    sealer: Sealer,
    room: Room,
    sender: str,
    connection: str,
    frames: list[dict[str, Any]],
    *,
    to_self: bool = False,
) -> list[OutboxItem]:
    """The outbox items of `frames`, sealed: SDP and candidates name network addresses."""
    audience = frozenset({sender if to_self else room.other(sender)})
    return [
        OutboxItem(
            "signal",
            audience,
            {
                "sealed": sealer.seal_text(
                    json.dumps(
                        {"room": room.booking_id, "from": sender, "conn": connection, "frame": frame},
                        separators=(",", ":"),
                    ),
                    OUTBOX_CONTEXT,
                )
            },
        )
        for frame in frames
    ]
