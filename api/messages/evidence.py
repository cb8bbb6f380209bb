"""Evidence from the conversation, without HTTP: in a dispute, a party shares chosen messages (and the
session room's attendance) with the arbiter, who sees exactly those — with who shared each and when
— and nothing else of the threads.

A shared message is copied at the moment it is shared (sealed, like the original): deleting or
editing it afterwards does not change what the arbiter was shown.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError

from api.messages.schemas import SharedEvidencePublic, SharedFile
from api.messages.sealing import Sealer, SealingError
from api.messages.service import (
    NotAParty,
    NotFound,
    Refused,
    attachment_context,
    evidence_context,
    message_context,
)
from db.booking import bookings
from db.chain import engagements
from db.messages import attachments, messages, shared_evidence, threads
from db.room import room_attendance

MAX_SHARED = 100  # messages per request


def _engagement(conn: Connection, chain_id: int, engagement_id: int) -> Any:
    row = conn.execute(
        select(engagements).where(engagements.c.chain_id == chain_id, engagements.c.id == engagement_id)
    ).first()
    if row is None:
        raise NotFound(f"no engagement {engagement_id} indexed on chain {chain_id}")
    return row


def share(
    conn: Connection,
    sealer: Sealer,
    chain_id: int,
    engagement_id: int,
    party: str,
    message_ids: list[int],
    attendance: bool,
    now: int,
) -> int:
    """Share messages of the two parties' threads (the engagement's, and inquiries between them) and,
    if asked, the attendance of the engagement's booked sessions; how many items were added."""
    e = _engagement(conn, chain_id, engagement_id)
    if party not in (e.client, e.provider):
        raise NotAParty("only the engagement's client and provider can share evidence")
    if e.status != "disputed":
        raise Refused(f"evidence is shared in a dispute; this engagement is {e.status}")
    pair = {e.client, e.provider}
    theirs = select(threads.c.id).where(
        or_(
            and_(
                threads.c.chain_id == chain_id,
                threads.c.engagement_id == engagement_id,
                threads.c.party_a == e.client,
                threads.c.party_b == e.provider,
            ),
            and_(threads.c.party_a.in_(pair), threads.c.party_b.in_(pair), threads.c.kind == "inquiry"),
        )
    )
    found = {
        int(r.id): r
        for r in conn.execute(
            select(messages).where(messages.c.id.in_(message_ids), messages.c.thread_id.in_(theirs))
        )
    }
    if set(message_ids) - set(found):
        raise NotFound("some of these messages are not in this engagement's conversations")
    added = 0
    for mid in message_ids:
        m = found[mid]
        if m.body is None:
            raise Refused(f"message {mid} was deleted: there is nothing to share")
        try:
            text = sealer.open(m.key_id, bytes(m.body), message_context(m.thread_id, m.sender))
        except SealingError:
            raise Refused(
                f"message {mid} is sealed with a key no longer configured: it cannot be shared"
            ) from None
        context = evidence_context(chain_id, engagement_id, party, mid)
        key_id, sealed = sealer.seal(text, context)
        copied = _file_copy(conn, sealer, m, key_id, context)
        added += _insert(
            conn,
            chain_id=chain_id,
            engagement_id=engagement_id,
            shared_by=party,
            kind="message",
            message_id=mid,
            sender=m.sender,
            sent_at=m.created_at,
            key_id=key_id,
            body=sealed,
            created_at=now,
            **copied,
        )
    already = conn.execute(
        select(shared_evidence.c.id).where(
            shared_evidence.c.chain_id == chain_id,
            shared_evidence.c.engagement_id == engagement_id,
            shared_evidence.c.shared_by == party,
            shared_evidence.c.kind == "attendance",
        )
    ).first()
    if attendance and already is None:  # shared once, like a message
        # The engagement's own bookings: matched by its reference or terms *and* its two parties (a
        # digest alone can be copied from the chain into anyone's engagement).
        booked = select(bookings.c.id).where(
            or_(bookings.c.id == e.booking_ref, bookings.c.terms_digest == e.terms_digest),
            bookings.c.learner == e.client,
            bookings.c.mentor == e.provider,
        )
        seen = [
            {"booking_id": r.booking_id, "address": r.address, "joined_at": r.joined_at, "left_at": r.left_at}
            for r in conn.execute(
                select(room_attendance)
                .where(room_attendance.c.booking_id.in_(booked))
                .order_by(room_attendance.c.id)
            )
        ]
        added += _insert(
            conn,
            chain_id=chain_id,
            engagement_id=engagement_id,
            shared_by=party,
            kind="attendance",
            attendance=json.dumps(seen, separators=(",", ":")),
            created_at=now,
        )
    return added


def _file_copy(conn: Connection, sealer: Sealer, m: Any, key_id: str, context: bytes) -> dict[str, Any]:
    """The message's attachment, opened and sealed again for the evidence row (under the key the
    row's text uses): the arbiter's copy stays as it was shared, whatever happens to the message."""
    row = conn.execute(select(attachments).where(attachments.c.message_id == m.id)).first()
    if row is None:
        return {}
    try:
        name = sealer.open(
            row.key_id, bytes(row.name), attachment_context(m.thread_id, row.uploader, m.id, "name")
        )
        data = sealer.open(
            row.key_id, bytes(row.content), attachment_context(m.thread_id, row.uploader, m.id, "content")
        )
    except SealingError:
        raise Refused(
            f"message {m.id}'s file is sealed with a key no longer configured: it cannot be shared"
        ) from None
    kid, sealed_name = sealer.seal(name, context + b":file-name")
    _, sealed_file = sealer.seal(data, context + b":file")
    if kid != key_id:  # both under the current key: one key id per row
        raise Refused("the message key changed while sharing: try again")
    return {"file_name": sealed_name, "file_type": row.media_type, "file_size": row.size, "file": sealed_file}


def shared_file(
    conn: Connection, sealer: Sealer, chain_id: int, engagement_id: int, viewer: str, shared_id: int
) -> tuple[str, str, bytes]:
    """(file name, media type, bytes) of a shared item's file, for the arbiter and the two parties."""
    e = _engagement(conn, chain_id, engagement_id)
    if viewer not in (e.client, e.provider, e.arbiter):
        raise NotAParty("only the engagement's parties and its arbiter see what was shared")
    r = conn.execute(
        select(shared_evidence).where(
            shared_evidence.c.id == shared_id,
            shared_evidence.c.chain_id == chain_id,
            shared_evidence.c.engagement_id == engagement_id,
        )
    ).first()
    if r is None or r.file is None:
        raise NotFound(f"no shared file {shared_id} in this dispute")
    context = evidence_context(chain_id, engagement_id, r.shared_by, r.message_id)
    try:
        name = sealer.open(r.key_id, bytes(r.file_name), context + b":file-name").decode()
        data = sealer.open(r.key_id, bytes(r.file), context + b":file")
    except SealingError:
        raise NotFound("this file's key is no longer configured; it cannot be read") from None
    return name, str(r.file_type), data


def _insert(conn: Connection, **values: Any) -> int:
    try:
        with conn.begin_nested():
            conn.execute(insert(shared_evidence).values(**values))
        return 1
    except IntegrityError:  # this party shared this message already
        return 0


def shared(
    conn: Connection,
    sealer: Sealer,
    chain_id: int,
    engagement_id: int,
    viewer: str,
    after: int | None = None,
    limit: int = 100,
) -> list[SharedEvidencePublic]:
    """What was shared, for the arbiter and the two parties (each sees what both shared)."""
    e = _engagement(conn, chain_id, engagement_id)
    if viewer not in (e.client, e.provider, e.arbiter):
        raise NotAParty("only the engagement's parties and its arbiter see what was shared")
    out = []
    query = select(shared_evidence).where(
        shared_evidence.c.chain_id == chain_id, shared_evidence.c.engagement_id == engagement_id
    )
    if after is not None:
        query = query.where(shared_evidence.c.id > after)
    for r in conn.execute(query.order_by(shared_evidence.c.id).limit(limit + 1)):
        body = None
        if r.body is not None:
            try:
                body = sealer.open(
                    r.key_id,
                    bytes(r.body),
                    evidence_context(chain_id, engagement_id, r.shared_by, r.message_id),
                ).decode()
            except SealingError:
                body = None
        out.append(
            SharedEvidencePublic(
                id=r.id,
                kind=r.kind,
                shared_by=r.shared_by,
                shared_at=r.created_at,
                message_id=r.message_id,
                sender=r.sender,
                sent_at=r.sent_at,
                body=body,
                attendance=json.loads(r.attendance) if r.attendance else None,
                file=_file_meta(sealer, r, chain_id, engagement_id),
            )
        )
    return out


def _file_meta(sealer: Sealer, r: Any, chain_id: int, engagement_id: int) -> SharedFile | None:
    if r.file is None:
        return None
    try:
        name = sealer.open(
            r.key_id,
            bytes(r.file_name),
            evidence_context(chain_id, engagement_id, r.shared_by, r.message_id) + b":file-name",
        ).decode()
    except SealingError:
        name = "file"
    return SharedFile(name=name, media_type=r.file_type, size=r.file_size)
