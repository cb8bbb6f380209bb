"""The signed-in wallet's own data: export and erasure."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Column, Table, and_, delete, or_, select, update

from api.deps import ClockDep, ConnDep, CurrentSession, SealerDep
from api.messages.sealing import SealingError
from api.messages.service import attachment_context, message_context
from api.models import ERRORS
from db.auth import auth_sessions
from db.booking import (
    availability,
    availability_exceptions,
    availability_rules,
    booking_cells,
    booking_days,
    booking_reschedules,
    bookings,
    calendar_feeds,
    custom_offers,
    listing_free,
    listing_offers,
)
from db.chain import engagements
from db.credentials import issuer_profiles, vouchers
from db.mail import email_addresses, mail_sent
from db.market import avatars, evidence, listings, profiles
from db.messages import (
    attachments,
    message_reports,
    messages,
    shared_evidence,
    thread_reads,
    threads,
    user_blocks,
)
from db.notifications import notifications
from db.outbox import outbox, outbox_audience
from db.payments import payment_quotes
from db.room import room_attendance

router = APIRouter(tags=["account"], responses=ERRORS)

KEPT = {
    "signed_vouchers_you_issued": (
        "a credential voucher you signed stays until it is redeemed or expires: its recipient relies on it "
        "(it names only wallets and a metadata document)"
    ),
    "card_payments": (
        "card payment quotes are kept for accounting and to answer chargebacks; they name only wallets, "
        "amounts and the card provider's payment (a Stripe session, a Razorpay order)"
    ),
    "dispute_evidence": (
        "evidence documents belong to a dispute record the other party and the arbiter rely on; "
        "their content "
        "lives on IPFS (content-addressed, not erasable by us) and names only wallets; messages and "
        "attendance you shared with the arbiter stay with the dispute as shared (sealed in our database)"
    ),
    "booked_sessions": (
        "a booking that an engagement funded stays while that engagement does: the other party's "
        "calendar relies on it; it names only the two wallets, the listing and the times (unfunded "
        "holds are erased)"
    ),
    "message_threads": (
        "a thread stays while the other party has it: the messages they wrote are theirs too. Erasure "
        "removes the text of every message you wrote (the thread shows 'removed by its author') and your "
        "read receipts, blocks and reports; the other party keeps what they wrote to you"
    ),
    "session_attendance": (
        "when you joined and left a booked session's room is the record both parties (and an arbiter, "
        "if one of them shares it as evidence) rely on to show the session took place; it names only "
        "the wallet, the booking and the times"
    ),
    "on_chain": (
        "engagements, reviews and credentials are public blockchain state: no one can erase them, "
        "which is why "
        "nothing personal is ever put there (only wallet addresses, amounts, dates and document digests)"
    ),
}


# Every table that holds a wallet's off-chain data, by the columns that name the wallet. /me/export
# exports every one (under `tables`, whatever is added here); DELETE /me erases each as ERASURE says
# ("all", "custom" with its rule in erase(), or a KEPT reason). tests/api/test_privacy.py fails when a
# table with an address column is in neither this list nor PUBLIC_CHAIN_STATE, or has no erasure rule.
PERSONAL_TABLES: dict[str, tuple[Table, tuple[Column[Any], ...]]] = {
    "profile": (profiles, (profiles.c.address,)),
    "listings": (listings, (listings.c.owner,)),
    "sessions": (auth_sessions, (auth_sessions.c.address,)),
    "issuer_profile": (issuer_profiles, (issuer_profiles.c.address,)),
    "vouchers": (vouchers, (vouchers.c.issuer, vouchers.c.recipient)),
    "evidence": (evidence, (evidence.c.author,)),
    "card_payments": (payment_quotes, (payment_quotes.c.client,)),
    "stream_deliveries": (outbox_audience, (outbox_audience.c.address,)),
    "availability": (availability, (availability.c.address,)),
    "availability_rules": (availability_rules, (availability_rules.c.address,)),
    "availability_exceptions": (availability_exceptions, (availability_exceptions.c.address,)),
    "bookings": (bookings, (bookings.c.learner, bookings.c.mentor)),
    "booking_cells": (booking_cells, (booking_cells.c.mentor,)),
    "booking_days": (booking_days, (booking_days.c.mentor,)),
    "booking_reschedules": (booking_reschedules, (booking_reschedules.c.proposed_by,)),
    "custom_offers": (custom_offers, (custom_offers.c.provider, custom_offers.c.client)),
    "free_time_index": (listing_free, (listing_free.c.mentor,)),
    "avatar": (avatars, (avatars.c.address,)),
    "standing_offers": (listing_offers, (listing_offers.c.provider,)),
    "calendar_feed": (calendar_feeds, (calendar_feeds.c.address,)),
    "message_threads": (threads, (threads.c.party_a, threads.c.party_b)),
    "messages": (messages, (messages.c.sender,)),
    "message_attachments": (attachments, (attachments.c.uploader,)),
    "message_reads": (thread_reads, (thread_reads.c.address,)),
    "blocks": (user_blocks, (user_blocks.c.blocker,)),
    "message_reports": (message_reports, (message_reports.c.reporter,)),
    "room_attendance": (room_attendance, (room_attendance.c.address,)),
    "shared_evidence": (shared_evidence, (shared_evidence.c.shared_by,)),
    "notifications": (notifications, (notifications.c.address,)),
    "email": (email_addresses, (email_addresses.c.address,)),
    "mails_sent": (mail_sent, (mail_sent.c.address,)),
}
# The indexer's read model of public chain state: nothing in it is erasable (see KEPT["on_chain"]).
PUBLIC_CHAIN_STATE = frozenset(
    {"chain_events", "credentials", "engagements", "escrow_config", "escrow_owed", "issuers"}
    | {"reputation", "reviews", "withdrawals"}
)
ERASURE: dict[str, str] = {
    "profile": "all",
    "listings": "all",
    "sessions": "all",
    "issuer_profile": "all",
    "vouchers": "custom",  # yours and unsigned ones you started; signed ones you issued: KEPT
    "evidence": "dispute_evidence",
    "card_payments": "card_payments",
    "availability": "all",
    "availability_rules": "all",
    "availability_exceptions": "all",
    "bookings": "custom",  # unfunded holds; funded bookings: KEPT["booked_sessions"]
    "booking_cells": "custom",  # with their booking
    "booking_days": "custom",  # with their booking
    "booking_reschedules": "all",  # proposals you made; the booking keeps its current time
    "custom_offers": "all",  # made or received; a signed one stays fundable on-chain until cancelOffer
    "free_time_index": "all",  # derived from your listings and hours, which go too
    "avatar": "all",
    "calendar_feed": "all",
    "standing_offers": "all",  # the app stops booking from it; cancelOffer ends it on-chain too
    "message_threads": "message_threads",
    "messages": "custom",  # the text of yours goes (a tombstone stays in the other party's thread)
    "message_attachments": "all",
    "message_reads": "all",
    "blocks": "all",
    "message_reports": "all",
    "room_attendance": "session_attendance",
    "shared_evidence": "dispute_evidence",
    "notifications": "all",
    "email": "all",
    "mails_sent": "all",
    "stream_deliveries": "all",  # who may replay which stream item; erased, the items reach you no more
}
_NOT_EXPORTED_COLUMNS = {
    "auth_sessions": {"token_hash"},  # a session secret, even hashed, stays inside
    "messages": {"body", "key_id"},  # ciphertext: the readable text is under `messages`
    "message_attachments": {"name", "content", "key_id"},  # readable under `attachments`
    "shared_evidence": {"body", "key_id", "file", "file_name"},  # sealed copies of what is exported readable
    "email_addresses": {"confirm_hash"},
    "avatars": {"content"},  # the picture itself: `avatar_base64`
}


class MessageExport(BaseModel):
    id: int
    thread_id: int
    sender: str
    body: str | None
    origin: str
    created_at: int
    edited_at: int | None
    deleted: str | None


class AttachmentExport(BaseModel):
    id: int
    message_id: int
    thread_id: int
    uploader: str
    filename: str
    media_type: str
    size: int
    content_base64: str


class ExportPublic(BaseModel):
    address: str
    profile: dict[str, Any] | None
    listings: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    issuer_profile: dict[str, Any] | None
    vouchers: list[dict[str, Any]]
    card_payments: list[dict[str, Any]]
    messages: list[MessageExport] = Field(
        description="every message of your threads (yours and the other party's), readable"
    )
    attachments: list[AttachmentExport] = Field(description="every file of your threads, base64")
    avatar_base64: str | None = Field(None, description="your profile picture, if you uploaded one")
    tables: dict[str, list[dict[str, Any]]] = Field(description="every personal-data table, by name")
    retention_notes: dict[str, str]


def _avatar(conn: ConnDep, address: str) -> str | None:
    picture = conn.execute(select(avatars.c.content).where(avatars.c.address == address)).scalar()
    return base64.b64encode(bytes(picture)).decode() if picture is not None else None


def _rows(conn: ConnDep, query: Any) -> list[dict[str, Any]]:
    return [
        {k: (str(v) if v is not None and not isinstance(v, (int, bool, str)) else v) for k, v in r.items()}
        for r in conn.execute(query).mappings()
    ]


def _owned(name: str, address: str) -> Any:
    table, columns = PERSONAL_TABLES[name]
    hidden = _NOT_EXPORTED_COLUMNS.get(table.name, set())
    shown = [c for c in table.columns if c.name not in hidden]
    return select(*shown).where(or_(*(c == address for c in columns)))


@router.get(
    "/me/export", response_model=ExportPublic, summary="Everything off-chain about the signed-in wallet"
)
def export(session: CurrentSession, conn: ConnDep, sealer: SealerDep) -> ExportPublic:
    a = session.address
    rows = {name: _rows(conn, _owned(name, a)) for name in PERSONAL_TABLES}
    mine = select(threads.c.id).where(or_(threads.c.party_a == a, threads.c.party_b == a))
    readable = [
        MessageExport(
            id=m.id,
            thread_id=m.thread_id,
            sender=m.sender,
            body=_opened(sealer, m),
            origin=m.origin,
            created_at=m.created_at,
            edited_at=m.edited_at,
            deleted=m.deleted_by,
        )
        for m in conn.execute(select(messages).where(messages.c.thread_id.in_(mine)).order_by(messages.c.id))
    ]
    return ExportPublic(
        address=a,
        profile=rows["profile"][0] if rows["profile"] else None,
        listings=rows["listings"],
        evidence=rows["evidence"],
        sessions=rows["sessions"],
        issuer_profile=rows["issuer_profile"][0] if rows["issuer_profile"] else None,
        vouchers=rows["vouchers"],
        card_payments=rows["card_payments"],
        messages=readable,
        attachments=_attachments(
            sealer,
            conn.execute(
                select(attachments).where(attachments.c.thread_id.in_(mine)).order_by(attachments.c.id)
            ),
        ),
        tables=rows,
        avatar_base64=_avatar(conn, a),
        retention_notes=KEPT,
    )


def _opened(sealer: Any, m: Any) -> str | None:
    """A message's text, or None when deleted or sealed with a key no longer configured."""
    if m.body is None:
        return None
    try:
        return str(sealer.open(m.key_id, bytes(m.body), message_context(m.thread_id, m.sender)).decode())
    except SealingError:
        return None


def _attachment(sealer: Any, a: Any) -> AttachmentExport:
    def opened(part: str, sealed: bytes) -> bytes:
        return bytes(
            sealer.open(
                a.key_id, bytes(sealed), attachment_context(a.thread_id, a.uploader, a.message_id, part)
            )
        )

    return AttachmentExport(
        id=a.id,
        message_id=a.message_id,
        thread_id=a.thread_id,
        uploader=a.uploader,
        filename=opened("name", a.name).decode(),
        media_type=a.media_type,
        size=a.size,
        content_base64=base64.b64encode(opened("content", a.content)).decode(),
    )


def _attachments(sealer: Any, rows: Any) -> list[AttachmentExport]:
    out = []
    for a in rows:
        try:
            out.append(_attachment(sealer, a))
        except SealingError:  # its key is gone: nobody can read it
            continue
    return out


class ErasedPublic(BaseModel):
    erased: dict[str, int]
    kept: dict[str, str]


@router.delete("/me", response_model=ErasedPublic, summary="Erase the signed-in wallet's off-chain data")
def erase(session: CurrentSession, conn: ConnDep, clock: ClockDep) -> ErasedPublic:
    a = session.address
    erased: dict[str, int] = {}
    # Live-stream items of your threads (sealed, but they carry your words): gone for both parties,
    # before the rule below forgets whom they were for.
    yours = select(outbox_audience.c.seq).where(outbox_audience.c.address == a)
    spoken = select(outbox.c.seq).where(
        outbox.c.kind.in_(("message", "typing", "signal")), outbox.c.seq.in_(yours)
    )
    gone = [seq for (seq,) in conn.execute(spoken)]
    conn.execute(delete(outbox_audience).where(outbox_audience.c.seq.in_(gone)))
    conn.execute(delete(outbox).where(outbox.c.seq.in_(gone)))
    erased["messages"] = conn.execute(
        update(messages)
        .where(messages.c.sender == a, messages.c.deleted_by.is_distinct_from("erasure"))
        .values(body=None, key_id=None, deleted_at=int(clock()), deleted_by="erasure")
    ).rowcount
    for name, (table, columns) in PERSONAL_TABLES.items():
        rule = ERASURE[name]
        if rule == "all":
            erased[name] = conn.execute(delete(table).where(or_(*(c == a for c in columns)))).rowcount
    # Vouchers for you, and unsigned ones you started; signed ones you issued are kept (KEPT).
    erased["vouchers"] = conn.execute(
        delete(vouchers).where(
            or_(vouchers.c.recipient == a, and_(vouchers.c.issuer == a, vouchers.c.signature.is_(None)))
        )
    ).rowcount
    unfunded = [
        b
        for (b,) in conn.execute(
            select(bookings.c.id).where(
                or_(bookings.c.learner == a, bookings.c.mentor == a),
                ~bookings.c.terms_digest.in_(select(engagements.c.terms_digest)),
            )
        )
    ]
    erased["booking_cells"] = conn.execute(
        delete(booking_cells).where(booking_cells.c.booking_id.in_(unfunded))
    ).rowcount
    erased["booking_days"] = conn.execute(
        delete(booking_days).where(booking_days.c.booking_id.in_(unfunded))
    ).rowcount
    erased["bookings"] = conn.execute(delete(bookings).where(bookings.c.id.in_(unfunded))).rowcount
    return ErasedPublic(erased=erased, kept=KEPT)
