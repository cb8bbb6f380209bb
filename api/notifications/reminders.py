"""Reminders the app makes from its own calendar: "your session starts within the hour", to both
parties of a confirmed booking, and "answer this request" to a mentor before a paid request's
respond-by time, each once (an in-app notification on the live stream, mailed like every
notification when the user confirmed an address). Time comes from the app's injectable clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, insert, or_, select
from sqlalchemy.exc import IntegrityError

from api.periodic import PeriodicPass
from api.room.service import room_of
from bus import outbox
from bus.outbox import OutboxItem
from db import notifications as notifications_table
from db.booking import bookings
from db.chain import engagements
from db.notifications import reminders_sent

log = logging.getLogger("skillchain.reminders")

STARTING = "session_starting"
AHEAD = 3600  # seconds before a session its reminder goes out
RESPOND = "respond_soon"
RESPOND_AHEAD = 6 * 3600  # seconds before a request's respond-by time the mentor is reminded
UNANSWERED = "request_unanswered"
UNANSWERED_LOOKBACK = 7 * 86400  # respond-by times this far back still remind (a pass missed while down)


def due(conn: Connection, now: int) -> list[str]:
    """Bookings starting within AHEAD seconds with an accepted engagement that were not reminded of
    yet (`remind` checks the rest): held or requested ones, however many, never crowd them out."""
    accepted = exists().where(
        engagements.c.accepted,
        engagements.c.client == bookings.c.learner,
        engagements.c.provider == bookings.c.mentor,
        or_(
            and_(bookings.c.mode == "instant", engagements.c.booking_ref == bookings.c.id),
            and_(bookings.c.mode != "instant", engagements.c.terms_digest == bookings.c.terms_digest),
        ),
    )
    rows = conn.execute(
        select(bookings.c.id)
        .where(
            bookings.c.active,
            bookings.c.starts_at > now,
            bookings.c.starts_at <= now + AHEAD,
            accepted,
            ~exists().where(reminders_sent.c.booking_id == bookings.c.id, reminders_sent.c.kind == STARTING),
        )
        .order_by(bookings.c.starts_at)
        .limit(200)
    ).all()
    return [r.id for r in rows]


def remind(conn: Connection, booking_id: str, now: int) -> list[OutboxItem]:
    """Both parties' reminder of a confirmed booking, in the caller's transaction; [] for a booking that
    is not confirmed (held, requested, cancelled: nothing to remind of)."""
    room = room_of(conn, booking_id, now, 0)
    if room.state != "confirmed":
        return []
    conn.execute(insert(reminders_sent).values(booking_id=booking_id, kind=STARTING, sent_at=now))
    items = []
    for address in room.parties:
        payload = {
            "kind": STARTING,
            "engagement_id": room.engagement_id,
            "milestone": None,
            "token_id": None,
            "by": None,
            "tx": None,
            "booking": booking_id,
            "starts_at": room.starts_at,
        }
        nid = notifications_table.add(
            conn, address, payload, now=now, chain_id=room.chain_id, engagement_id=room.engagement_id
        )
        items.append(
            OutboxItem(
                kind="notification",
                audience=frozenset({address}),
                payload={"id": int(nid), **payload, "created_at": now},
            )
        )
    return items


def due_answers(conn: Connection, now: int) -> list[str]:
    """Paid booking requests whose respond-by time is within RESPOND_AHEAD, not yet accepted, and
    whose mentor was not reminded yet."""
    waiting = _waiting()
    rows = conn.execute(
        select(bookings.c.id)
        .where(
            bookings.c.active,
            bookings.c.mode == "request",
            bookings.c.respond_by > now,
            bookings.c.respond_by <= now + RESPOND_AHEAD,
            waiting,
            ~exists().where(reminders_sent.c.booking_id == bookings.c.id, reminders_sent.c.kind == RESPOND),
        )
        .order_by(bookings.c.respond_by)
        .limit(200)
    ).all()
    return [r.id for r in rows]


def remind_answer(conn: Connection, booking_id: str, now: int) -> list[OutboxItem]:
    """The mentor's "answer this request" reminder, in the caller's transaction (once per booking)."""
    return _request_reminder(conn, booking_id, now, RESPOND, to_learner=False)


def _request_reminder(
    conn: Connection, booking_id: str, now: int, kind: str, *, to_learner: bool
) -> list[OutboxItem]:
    """One reminder about a paid, unaccepted request to its mentor or learner, once per booking."""
    row = conn.execute(
        select(
            bookings.c.mentor,
            bookings.c.learner,
            bookings.c.respond_by,
            bookings.c.starts_at,
            engagements.c.chain_id,
            engagements.c.id,
        )
        .join(engagements, engagements.c.terms_digest == bookings.c.terms_digest)
        .where(bookings.c.id == booking_id, engagements.c.status == "requested", _parties())
    ).first()
    if row is None:
        return []
    conn.execute(insert(reminders_sent).values(booking_id=booking_id, kind=kind, sent_at=now))
    to = row.learner if to_learner else row.mentor
    payload = {
        "kind": kind,
        "engagement_id": int(row.id),
        "milestone": None,
        "token_id": None,
        "by": None,
        "tx": None,
        "booking": booking_id,
        "starts_at": row.starts_at,
        "respond_by": row.respond_by,
    }
    nid = notifications_table.add(
        conn, to, payload, now=now, chain_id=row.chain_id, engagement_id=int(row.id)
    )
    return [
        OutboxItem(
            kind="notification", audience=frozenset({to}), payload={"id": nid, **payload, "created_at": now}
        )
    ]


def _parties() -> Any:
    """The booking's engagement is its own: its learner and mentor (a digest can be copied on-chain)."""
    return and_(engagements.c.client == bookings.c.learner, engagements.c.provider == bookings.c.mentor)


def _waiting() -> Any:
    """The booking's request is funded and not answered yet."""
    return exists().where(
        engagements.c.terms_digest == bookings.c.terms_digest, engagements.c.status == "requested", _parties()
    )


def due_unanswered(conn: Connection, now: int) -> list[str]:
    """Paid booking requests past their respond-by time, still unaccepted, whose learner was not yet
    told to take the money back."""
    waiting = _waiting()
    rows = conn.execute(
        select(bookings.c.id)
        .where(
            bookings.c.mode == "request",
            bookings.c.respond_by <= now,
            bookings.c.respond_by > now - UNANSWERED_LOOKBACK,
            waiting,
            ~exists().where(
                reminders_sent.c.booking_id == bookings.c.id, reminders_sent.c.kind == UNANSWERED
            ),
        )
        .order_by(bookings.c.respond_by)
        .limit(200)
    ).all()
    return [r.id for r in rows]


def remind_unanswered(conn: Connection, booking_id: str, now: int) -> list[OutboxItem]:
    """The learner's "not answered in time: withdraw it" notification, once per booking."""
    return _request_reminder(conn, booking_id, now, UNANSWERED, to_learner=True)


class Reminders(PeriodicPass):
    """The reminder pass: every `interval` seconds in a thread of the API process."""

    name = "reminders"
    log = log

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float],
        written: Callable[[], None],
        interval: float = 60.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.written = written
        super().__init__()
        self.interval = interval

    def run_once(self) -> int:
        """Remind of what is due now; how many notifications were made."""
        now = int(self.clock())
        with self.engine.connect() as conn:
            work = (
                [(remind, i) for i in due(conn, now)]
                + [(remind_answer, i) for i in due_answers(conn, now)]
                + [(remind_unanswered, i) for i in due_unanswered(conn, now)]
            )
        made = 0
        for make, booking_id in work:
            try:
                with self.engine.begin() as conn:
                    items = make(conn, booking_id, now)
                    outbox.append(conn, items, now=now)
            except IntegrityError:  # another replica reminded of it at the same moment
                continue
            if items:
                made += len(items)
                self.written()
        return made
