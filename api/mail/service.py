"""E-mail addresses and the mails of notifications, without HTTP: adding and confirming an address,
one-click unsubscribe, which notifications are due, and the messages themselves (RFC 8058
List-Unsubscribe headers; a booking's iCalendar invite attached when a session is booked or accepted)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update

from api.booking import calendar
from api.booking.holds import state_of
from api.mail.schemas import EmailPublic
from db.booking import bookings
from db.chain import engagements
from db.mail import confirmation_mails, email_addresses, mail_sent
from db.market import listings
from db.notifications import notifications
from db.upsert import upsert
from skillchain.settings import Settings

# What each notification says in a mail's subject (the dApp words the in-app list the same way).
SUBJECTS = {
    "booked": "A session was booked with you",
    "request_received": "New booking request",
    "request_accepted": "Your request was accepted",
    "request_withdrawn": "A request was withdrawn",
    "engagement_cancelled": "An engagement was cancelled",
    "milestone_submitted": "Work was submitted for your approval",
    "milestone_released": "A payment was released to you",
    "dispute_raised": "A dispute was raised",
    "dispute_resolved": "A dispute was resolved",
    "review_received": "You received a review",
    "credential_issued": "You received a credential",
    "session_starting": "Your session starts within the hour",
    "respond_soon": "A booking request waits for your answer",
    "request_unanswered": "Your request was not answered in time: take your money back",
    "reschedule_proposed": "A new time was proposed for your session",
    "rescheduled": "Your session was moved to a new time",
    "reschedule_declined": "Your proposed new time was declined",
    "cancel_requested": "A learner cancelled a session: please refund it",
    "offer_received": "You received an offer",
}
# The moments a session's time is settled for the recipient (a reschedule sends the updated invite).
INVITES = {"booked", "request_accepted", "rescheduled"}


CONFIRM_SECONDS = 2 * 86400  # a confirmation link works for two days
PER_RECIPIENT_PER_DAY = 3  # confirmation mails to one address a day, whichever wallets ask


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirmation_wait(conn: Connection, email: str, now: int, per_hour: int) -> str | None:
    """Why no confirmation mail may go to `email` now (in words), or None. Counted from the
    confirmation_mails record, which removing the address does not clear."""
    recipient = _hash(email.strip().lower())
    to_it = conn.execute(
        select(func.count())
        .select_from(confirmation_mails)
        .where(confirmation_mails.c.recipient_hash == recipient, confirmation_mails.c.sent_at > now - 86400)
    ).scalar_one()
    if to_it >= PER_RECIPIENT_PER_DAY:
        return f"this address was sent {PER_RECIPIENT_PER_DAY} confirmation mails today: try tomorrow"
    if per_hour > 0:
        in_all = conn.execute(
            select(func.count())
            .select_from(confirmation_mails)
            .where(confirmation_mails.c.sent_at > now - 3600)
        ).scalar_one()
        if in_all >= per_hour:
            return "too many confirmation mails are going out right now: try again within the hour"
    return None


def record_confirmation(conn: Connection, email: str, now: int) -> None:
    """Count a confirmation mail to `email`; records older than a day go (nothing needs them)."""
    conn.execute(delete(confirmation_mails).where(confirmation_mails.c.sent_at <= now - 86400))
    conn.execute(insert(confirmation_mails).values(recipient_hash=_hash(email.strip().lower()), sent_at=now))


def set_email(conn: Connection, address: str, email: str, now: int) -> str:
    """Add (or replace) the wallet's address, unconfirmed; the confirmation link's token. One
    statement (an upsert): two requests at once for one wallet leave one row, never an error."""
    token = secrets.token_urlsafe(32)
    newest = conn.execute(
        select(func.max(notifications.c.id)).where(notifications.c.address == address)
    ).scalar()
    values = {
        "email": email,
        "confirm_hash": _hash(token),
        "unsubscribe_token": secrets.token_urlsafe(32),
        "created_at": now,
        "confirmed_at": None,
        "unsubscribed_at": None,
        "mailed_after": int(newest or 0),
    }
    conn.execute(upsert(conn, email_addresses, {"address": address, **values}, ["address"]))
    return token


def confirm(conn: Connection, token: str, now: int) -> str | None:
    """The address the token confirms (once, within CONFIRM_SECONDS), or None when it is unknown,
    used or too old."""
    row = conn.execute(
        select(email_addresses.c.address).where(
            email_addresses.c.confirm_hash == _hash(token),
            email_addresses.c.created_at > now - CONFIRM_SECONDS,
        )
    ).first()
    if row is None:
        return None
    newest = conn.execute(
        select(func.max(notifications.c.id)).where(notifications.c.address == row.address)
    ).scalar()
    conn.execute(
        update(email_addresses)
        .where(email_addresses.c.address == row.address)
        .values(confirm_hash=None, confirmed_at=now, mailed_after=int(newest or 0))
    )
    return str(row.address)


def unsubscribe(conn: Connection, token: str, now: int) -> bool:
    """Stop every mail to the address of this token; False when the token is unknown."""
    done = conn.execute(
        update(email_addresses)
        .where(email_addresses.c.unsubscribe_token == token)
        .values(unsubscribed_at=func.coalesce(email_addresses.c.unsubscribed_at, now))
    )
    return bool(done.rowcount)


def status(conn: Connection, address: str) -> EmailPublic | None:
    row = conn.execute(select(email_addresses).where(email_addresses.c.address == address)).first()
    if row is None:
        return None
    return EmailPublic(
        email=row.email, confirmed=row.confirmed_at is not None, subscribed=row.unsubscribed_at is None
    )


def remove(conn: Connection, address: str) -> bool:
    return bool(conn.execute(delete(email_addresses).where(email_addresses.c.address == address)).rowcount)


@dataclass(frozen=True)
class Due:
    notification_id: int
    address: str
    email: str
    unsubscribe_token: str
    kind: str
    chain_id: int | None
    engagement_id: int | None
    payload: dict[str, Any]


def due(conn: Connection, limit: int = 50) -> list[Due]:
    """Notifications of confirmed, subscribed addresses that were not mailed yet, oldest first."""
    rows = conn.execute(
        select(
            notifications.c.id,
            notifications.c.address,
            notifications.c.kind,
            notifications.c.chain_id,
            notifications.c.engagement_id,
            notifications.c.payload,
            email_addresses.c.email,
            email_addresses.c.unsubscribe_token,
        )
        .join(email_addresses, email_addresses.c.address == notifications.c.address)
        .where(
            email_addresses.c.confirmed_at.is_not(None),
            email_addresses.c.unsubscribed_at.is_(None),
            notifications.c.id > email_addresses.c.mailed_after,
            ~exists().where(mail_sent.c.notification_id == notifications.c.id),
        )
        .order_by(notifications.c.id)
        .limit(limit)
    ).all()
    return [
        Due(
            int(r.id),
            r.address,
            r.email,
            r.unsubscribe_token,
            r.kind,
            r.chain_id,
            r.engagement_id,
            json.loads(r.payload),
        )
        for r in rows
    ]


def claim(conn: Connection, item: Due, now: int) -> Due | None:
    """Record the mail as sending before it goes out, and what to send it to: the address as it is
    now (read again under a row lock: removed, unsubscribed or changed since `due` read it means no
    mail, or the new address), or None when there is nothing to send or another worker took it."""
    current = conn.execute(
        select(email_addresses.c.email, email_addresses.c.unsubscribe_token)
        .where(
            email_addresses.c.address == item.address,
            email_addresses.c.confirmed_at.is_not(None),
            email_addresses.c.unsubscribed_at.is_(None),
            email_addresses.c.mailed_after < item.notification_id,
        )
        .with_for_update()
    ).first()
    if current is None:
        return None
    taken = conn.execute(
        select(mail_sent.c.notification_id).where(mail_sent.c.notification_id == item.notification_id)
    ).first()
    if taken is not None:
        return None
    conn.execute(
        insert(mail_sent).values(
            notification_id=item.notification_id, address=item.address, sent_at=now, status="sending"
        )
    )
    return replace(item, email=current.email, unsubscribe_token=current.unsubscribe_token)


def settle(conn: Connection, notification_id: int, error: str | None) -> None:
    conn.execute(
        update(mail_sent)
        .where(mail_sent.c.notification_id == notification_id)
        .values(status="failed" if error else "sent", error=error)
    )


def release(conn: Connection, notification_id: int) -> None:
    """Un-claim a mail that never left (the server could not be reached): the next pass sends it."""
    conn.execute(
        delete(mail_sent).where(
            mail_sent.c.notification_id == notification_id, mail_sent.c.status == "sending"
        )
    )


def give_up(conn: Connection, item: Due, now: int, error: str) -> None:
    """Record a notification that cannot be mailed (its message could not be made) as failed, so
    passes do not retry it forever."""
    taken = conn.execute(
        select(mail_sent.c.notification_id).where(mail_sent.c.notification_id == item.notification_id)
    ).first()
    if taken is None:
        conn.execute(
            insert(mail_sent).values(
                notification_id=item.notification_id,
                address=item.address,
                sent_at=now,
                status="failed",
                error=error[:500],
            )
        )


def _invite(conn: Connection, item: Due, now: int) -> bytes | None:
    """The session's iCalendar invite, when the notification is about a booked session."""
    if item.kind not in INVITES or item.engagement_id is None or item.chain_id is None:
        return None
    e = conn.execute(
        select(
            engagements.c.booking_ref,
            engagements.c.terms_digest,
            engagements.c.client,
            engagements.c.provider,
        ).where(engagements.c.chain_id == item.chain_id, engagements.c.id == item.engagement_id)
    ).first()
    if e is None:
        return None
    clauses = [bookings.c.terms_digest == e.terms_digest]
    if e.booking_ref:
        clauses.append(bookings.c.id == e.booking_ref)
    booking = (
        conn.execute(
            select(bookings).where(
                or_(*clauses), and_(bookings.c.learner == e.client, bookings.c.mentor == e.provider)
            )
        )
        .mappings()
        .first()
    )
    if booking is None:
        return None
    title = conn.execute(select(listings.c.title).where(listings.c.id == booking["listing_id"])).scalar()
    row = dict(booking)
    return calendar.invite(
        row, state_of(conn, row, now), f"Skillchain: {title}" if title else "Skillchain session", now
    )


def _base(settings: Settings, to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = formataddr(("", to))
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="skillchain.invalid")
    return message


def confirmation(settings: Settings, email: str, token: str) -> EmailMessage:
    link = f"{settings.effective_public_url}/email/confirm?token={token}"
    message = _base(settings, email, "Confirm your e-mail address for Skillchain")
    message.set_content(
        "Someone — hopefully you — asked Skillchain to send notifications to this address.\n\n"
        f"Confirm it here: {link}\n\n"
        "If it was not you, ignore this mail: nothing will be sent without the confirmation.\n"
    )
    return message


def notification(settings: Settings, conn: Connection, item: Due, now: int) -> EmailMessage:
    base = settings.effective_public_url
    unsubscribe_link = f"{base}/email/unsubscribe?token={item.unsubscribe_token}"
    message = _base(settings, item.email, SUBJECTS.get(item.kind, "News from Skillchain"))
    # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" to the link.
    message["List-Unsubscribe"] = f"<{unsubscribe_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    where = (
        f"{base}/engagements/{item.engagement_id}"
        if item.engagement_id is not None
        else f"{base}/notifications"
    )
    message.set_content(
        f"{SUBJECTS.get(item.kind, 'Something happened on Skillchain')}.\n\n"
        f"See it in the app: {where}\n\n"
        "You get these mails because you confirmed this address in Skillchain.\n"
        f"Stop them: {unsubscribe_link}\n"
    )
    invite = _invite(conn, item, now)
    if invite is not None:
        # The part's method is the calendar's own (CANCEL when the session was called off meanwhile).
        method = "CANCEL" if b"METHOD:CANCEL" in invite else "REQUEST"
        message.add_attachment(
            invite, maintype="text", subtype="calendar", filename="session.ics", params={"method": method}
        )
    return message
