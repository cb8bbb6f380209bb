"""Threads and messages, without HTTP: who may write where, encryption at rest, read receipts, blocks,
reports, and the live-stream items each change writes in its own transaction.

A thread has exactly two parties: an inquiry's learner and the listing's owner, or an engagement's
client and provider. Every change to a thread appends an outbox item for both parties (the sender's
other tabs update too); items that carry text are sealed like the rows, and the stream hub opens
them once per item before fanning out (see `stream_opener`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import filetype
from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError

from api.messages.schemas import AttachmentPublic, MessagePublic, ThreadPublic
from api.messages.sealing import Sealer, SealingError
from bus import outbox
from bus.outbox import OutboxItem, StoredItem
from db.chain import engagements
from db.market import listings
from db.messages import (
    attachments,
    message_reports,
    messages,
    shared_evidence,
    thread_reads,
    threads,
    user_blocks,
)
from db.upsert import upsert
from skillchain.settings import Settings

log = logging.getLogger("skillchain.messages")

OUTBOX_CONTEXT = b"skillchain-outbox"


class MessagingError(Exception):
    """Base of the refusals below; the text is shown to the user."""


class NotFound(MessagingError):
    pass


class NotAParty(MessagingError):
    pass


class Blocked(MessagingError):
    pass


class Unsupported(MessagingError):
    """An attachment whose content is not one of the accepted types."""


class TooLarge(MessagingError):
    pass


class Refused(MessagingError):
    """Not allowed in the thread's or message's current state (edit window passed, own message...)."""


@dataclass(frozen=True)
class Thread:
    id: int
    kind: str
    listing_id: int | None
    chain_id: int | None
    engagement_id: int | None
    party_a: str
    party_b: str
    created_at: int
    last_message_at: int

    @property
    def parties(self) -> tuple[str, str]:
        return (self.party_a, self.party_b)

    def other(self, address: str) -> str:
        return self.party_b if address == self.party_a else self.party_a


@dataclass(frozen=True)
class Rules:
    edit_seconds: int
    max_chars: int
    attachment_bytes: int = 5 * 1024 * 1024

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            edit_seconds=settings.message_edit_minutes * 60,
            max_chars=settings.message_max_chars,
            attachment_bytes=settings.message_attachment_bytes,
        )


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


# What an attachment may be, by its content's magic bytes (the file name and the declared type are
# not believed): images the dApp can show, and PDF documents.
ACCEPTED = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
}


def sniff(data: bytes) -> str | None:
    """The accepted media type of `data` from its first bytes, else None."""
    kind = filetype.guess(data[:8192])
    return kind.mime if kind is not None and kind.mime in ACCEPTED else None


def clean_filename(name: str, media_type: str) -> str:
    """A file name safe to show and to offer for download: no path, no control or bidi characters, at
    most 120 characters, ending in its real type's extension."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(
        ch
        for ch in base
        if ch.isprintable() and ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    )
    base = base.strip(" .") or "attachment"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem[:110]}.{ACCEPTED[media_type]}"


def message_context(thread_id: int, sender: str) -> bytes:
    """Associated data of a message body: a row moved to another thread or sender does not open."""
    return f"skillchain-message:{thread_id}:{sender}".encode()


def attachment_context(thread_id: int, uploader: str, message_id: int, part: str) -> bytes:
    return f"skillchain-attachment:{thread_id}:{uploader}:{message_id}:{part}".encode()


def _thread(row: Any) -> Thread:
    return Thread(**{k: row[k] for k in Thread.__dataclass_fields__})


# ------------------------------------------------------------------ threads


def thread_of(conn: Connection, thread_id: int, address: str) -> Thread:
    """The thread, if `address` is one of its two parties."""
    row = conn.execute(select(threads).where(threads.c.id == thread_id)).mappings().first()
    if row is None:
        raise NotFound(f"no thread {thread_id}")
    thread = _thread(row)
    if address not in thread.parties:
        raise NotAParty("only the thread's two parties can read or write it")
    return thread


def writable_thread(conn: Connection, thread_id: int, sender: str) -> Thread:
    """The thread `sender` may write to now: thread_of and the block check in one query (the send
    route's hot path: one round trip fewer per message, bench/messages.py)."""

    def blocks(blocker: Any, blocked: Any) -> Any:
        return (
            select(func.count())
            .select_from(user_blocks)
            .where(user_blocks.c.blocker == blocker, user_blocks.c.blocked == blocked)
            .scalar_subquery()
        )

    row = (
        conn.execute(
            select(
                threads,
                blocks(threads.c.party_a, threads.c.party_b).label("a_blocks_b"),
                blocks(threads.c.party_b, threads.c.party_a).label("b_blocks_a"),
            ).where(threads.c.id == thread_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no thread {thread_id}")
    thread = _thread(row)
    if sender not in thread.parties:
        raise NotAParty("only the thread's two parties can read or write it")
    by_me, by_other = (
        (row["a_blocks_b"], row["b_blocks_a"])
        if sender == thread.party_a
        else (row["b_blocks_a"], row["a_blocks_b"])
    )
    _refuse(sender, thread.other(sender), "by_you" if by_me else "by_them" if by_other else None)
    return thread


def block_between(conn: Connection, me: str, other: str) -> str | None:
    """'by_you', 'by_them' or None."""
    rows = conn.execute(
        select(user_blocks.c.blocker).where(
            or_(
                and_(user_blocks.c.blocker == me, user_blocks.c.blocked == other),
                and_(user_blocks.c.blocker == other, user_blocks.c.blocked == me),
            )
        )
    ).all()
    blockers = {r.blocker for r in rows}
    if me in blockers:
        return "by_you"
    return "by_them" if blockers else None


def _refuse_blocked(conn: Connection, me: str, other: str) -> None:
    _refuse(me, other, block_between(conn, me, other))


def _refuse(me: str, other: str, state: str | None) -> None:
    if state == "by_you":
        raise Blocked(f"you blocked {other}; unblock them to write to them")
    if state == "by_them":
        raise Blocked(f"{other} does not accept messages from you")


def _get_or_create(conn: Connection, where: Any, values: dict[str, Any]) -> Thread:
    row = conn.execute(select(threads).where(where)).mappings().first()
    if row is None:
        try:
            with conn.begin_nested():  # a concurrent first message may create it first
                conn.execute(insert(threads).values(**values))
        except IntegrityError:
            pass
        row = conn.execute(select(threads).where(where)).mappings().one()
    return _thread(row)


def inquiry_thread(conn: Connection, listing_id: int, learner: str, now: int) -> Thread:
    """The learner's thread with the owner of an active listing (created on the first inquiry)."""
    listing = conn.execute(
        select(listings.c.owner, listings.c.active).where(listings.c.id == listing_id)
    ).first()
    if listing is None or not listing.active:
        raise NotFound(f"no active listing {listing_id}")
    if listing.owner == learner:
        raise Refused("this is your own listing: inquiries come from others")
    _refuse_blocked(conn, learner, listing.owner)
    return _get_or_create(
        conn,
        and_(threads.c.listing_id == listing_id, threads.c.party_a == learner),
        dict(
            kind="inquiry",
            listing_id=listing_id,
            party_a=learner,
            party_b=listing.owner,
            created_at=now,
            last_message_at=now,
        ),
    )


def engagement_thread(conn: Connection, chain_id: int, engagement_id: int, address: str, now: int) -> Thread:
    """The thread of an indexed engagement, for its client or provider (created on first use)."""
    found = conn.execute(
        select(engagements.c.client, engagements.c.provider).where(
            engagements.c.chain_id == chain_id, engagements.c.id == engagement_id
        )
    ).first()
    if found is None:
        raise NotFound(f"no engagement {engagement_id} indexed on chain {chain_id}")
    if address not in (found.client, found.provider):
        raise NotAParty("only the engagement's client and provider have its thread")
    thread = _get_or_create(
        conn,
        and_(threads.c.chain_id == chain_id, threads.c.engagement_id == engagement_id),
        dict(
            kind="engagement",
            chain_id=chain_id,
            engagement_id=engagement_id,
            party_a=found.client,
            party_b=found.provider,
            created_at=now,
            last_message_at=now,
        ),
    )
    if thread.parties != (found.client, found.provider):  # an earlier engagement's, before a reorg
        raise NotAParty("this engagement's thread belongs to other parties (the chain was reorganised)")
    return thread


def _unread_of(me: str) -> Any:
    last_read = (
        select(thread_reads.c.last_read_id)
        .where(thread_reads.c.thread_id == threads.c.id, thread_reads.c.address == me)
        .correlate(threads)  # the outer query's thread, not every thread: one row
        .scalar_subquery()
    )
    return (
        select(func.count())
        .select_from(messages)
        .where(
            messages.c.thread_id == threads.c.id,
            messages.c.sender != me,
            messages.c.deleted_at.is_(None),
            messages.c.id > func.coalesce(last_read, 0),
        )
        .correlate(threads)
        .scalar_subquery()
    )


def describe(conn: Connection, thread: Thread, me: str) -> ThreadPublic:
    return describe_many(conn, [thread], me)[0]


def describe_many(conn: Connection, found: list[Thread], me: str) -> list[ThreadPublic]:
    """Threads as `me` sees them: unread count, both read receipts, the listing's title, any block."""
    if not found:
        return []
    ids = [t.id for t in found]
    unread: dict[int, int] = {
        int(tid): int(n)
        for tid, n in conn.execute(select(threads.c.id, _unread_of(me)).where(threads.c.id.in_(ids)))
    }
    receipts: dict[int, dict[str, int]] = {}
    for r in conn.execute(select(thread_reads).where(thread_reads.c.thread_id.in_(ids))):
        receipts.setdefault(int(r.thread_id), {})[r.address] = int(r.last_read_id)
    listing_ids = {t.listing_id for t in found if t.listing_id is not None}
    titles: dict[int, str] = {}
    if listing_ids:
        query = select(listings.c.id, listings.c.title).where(listings.c.id.in_(listing_ids))
        titles = {int(lid): title for lid, title in conn.execute(query)}
    others = {t.other(me) for t in found}
    blocks = conn.execute(
        select(user_blocks.c.blocker, user_blocks.c.blocked).where(
            or_(
                and_(user_blocks.c.blocker == me, user_blocks.c.blocked.in_(others)),
                and_(user_blocks.c.blocked == me, user_blocks.c.blocker.in_(others)),
            )
        )
    ).all()
    by_you = {b.blocked for b in blocks if b.blocker == me}
    by_them = {b.blocker for b in blocks if b.blocked == me}
    out = []
    for t in found:
        other = t.other(me)
        out.append(
            ThreadPublic(
                id=t.id,
                kind=t.kind,
                listing_id=t.listing_id,
                listing_title=titles.get(t.listing_id) if t.listing_id is not None else None,
                chain_id=t.chain_id,
                engagement_id=t.engagement_id,
                parties=list(t.parties),
                other=other,
                created_at=t.created_at,
                last_message_at=t.last_message_at,
                unread=int(unread.get(t.id, 0)),
                read_up_to=receipts.get(t.id, {}),
                blocked="by_you" if other in by_you else ("by_them" if other in by_them else None),
            )
        )
    return out


def my_threads(conn: Connection, me: str, after: tuple[int, ...] | None, limit: int) -> list[Thread]:
    """The wallet's threads, most recent activity first (keyset on (last_message_at, id))."""
    query = select(threads).where(or_(threads.c.party_a == me, threads.c.party_b == me))
    if after is not None:
        at, tid = after
        query = query.where(
            or_(threads.c.last_message_at < at, and_(threads.c.last_message_at == at, threads.c.id < tid))
        )
    rows = conn.execute(
        query.order_by(threads.c.last_message_at.desc(), threads.c.id.desc()).limit(limit + 1)
    ).mappings()
    return [_thread(r) for r in rows]


def unread_totals(conn: Connection, me: str) -> tuple[int, int]:
    """(threads with unread messages, unread messages) over all of the wallet's threads."""
    counts = [
        int(n)
        for (n,) in conn.execute(
            select(_unread_of(me)).where(or_(threads.c.party_a == me, threads.c.party_b == me))
        )
    ]
    return sum(1 for n in counts if n), sum(counts)


# ------------------------------------------------------------------ messages


def _files(conn: Connection, sealer: Sealer, message_ids: list[int]) -> dict[int, list[AttachmentPublic]]:
    """The attachments of these messages (names opened; contents stay sealed until downloaded)."""
    found: dict[int, list[AttachmentPublic]] = {}
    if not message_ids:
        return found
    rows = conn.execute(
        select(
            attachments.c.id,
            attachments.c.message_id,
            attachments.c.thread_id,
            attachments.c.uploader,
            attachments.c.media_type,
            attachments.c.size,
            attachments.c.key_id,
            attachments.c.name,
        )
        .where(attachments.c.message_id.in_(message_ids))
        .order_by(attachments.c.id)
    )
    for r in rows:
        context = attachment_context(r.thread_id, r.uploader, r.message_id, "name")
        try:
            name = sealer.open(r.key_id, bytes(r.name), context).decode()
        except SealingError:
            name = f"attachment.{ACCEPTED.get(r.media_type, 'bin')}"
        found.setdefault(int(r.message_id), []).append(
            AttachmentPublic(
                id=int(r.id),
                filename=name,
                media_type=r.media_type,
                size=int(r.size),
                url=f"/threads/{r.thread_id}/attachments/{r.id}",
            )
        )
    return found


def _public(
    row: Any, sealer: Sealer, rules: Rules, viewer: str | None, files: list[AttachmentPublic] | None = None
) -> MessagePublic:
    body = None
    if row["body"] is not None and row["deleted_at"] is None:
        try:
            body = sealer.open(
                row["key_id"], bytes(row["body"]), message_context(row["thread_id"], row["sender"])
            ).decode()
        except SealingError:  # its key was retired from the ring: unreadable, said rather than a 500
            log.warning("message %s is sealed with key %r, no longer configured", row["id"], row["key_id"])
    mine = viewer is None or viewer == row["sender"]  # None: the author's view (stream items)
    editable = mine and row["deleted_at"] is None and rules.edit_seconds > 0
    return MessagePublic(
        id=int(row["id"]),
        thread_id=int(row["thread_id"]),
        sender=row["sender"],
        body=body,
        origin=row["origin"],
        created_at=int(row["created_at"]),
        edited_at=row["edited_at"],
        deleted=row["deleted_by"],
        editable_until=int(row["created_at"]) + rules.edit_seconds if editable else None,
        attachments=files or [],
    )


def _publish(conn: Connection, sealer: Sealer, thread: Thread, payload: dict[str, Any], now: int) -> None:
    """One sealed stream item for both parties, in the caller's transaction."""
    sealed = sealer.seal_text(json.dumps(payload, separators=(",", ":")), OUTBOX_CONTEXT)
    outbox.append(conn, [OutboxItem("message", frozenset(thread.parties), {"sealed": sealed})], now=now)


def send(
    conn: Connection,
    sealer: Sealer,
    rules: Rules,
    thread: Thread,
    sender: str,
    body: str,
    now: int,
    *,
    origin: str = "chat",
    upload: Upload | None = None,
    blocks_checked: bool = False,
) -> MessagePublic:
    """Store and publish a message. `blocks_checked`: the caller took the thread from
    writable_thread in this transaction (the block check is done)."""
    if len(body) > rules.max_chars:
        raise Refused(f"a message is at most {rules.max_chars:,} characters (this one has {len(body):,})")
    media_type = None
    if upload is not None:
        if len(upload.data) > rules.attachment_bytes:
            raise TooLarge(
                f"an attachment is at most {rules.attachment_bytes:,} bytes "
                f"(this one has {len(upload.data):,})"
            )
        media_type = sniff(upload.data)
        if media_type is None:
            raise Unsupported(
                "attachments are images (PNG, JPEG, GIF, WebP) or PDF documents, recognised by their "
                "content; this file is none of those, whatever its name says"
            )
    if not blocks_checked:
        _refuse_blocked(conn, sender, thread.other(sender))
    key_id, sealed = sealer.seal(body.encode(), message_context(thread.id, sender))
    row = (
        conn.execute(
            insert(messages)
            .values(
                thread_id=thread.id, sender=sender, origin=origin, key_id=key_id, body=sealed, created_at=now
            )
            .returning(*messages.c)
        )
        .mappings()
        .one()
    )
    conn.execute(update(threads).where(threads.c.id == thread.id).values(last_message_at=now))
    _set_read(conn, thread.id, sender, int(row["id"]), now)  # you have read what you wrote
    files: list[AttachmentPublic] = []
    if upload is not None and media_type is not None:
        mid = int(row["id"])
        name = clean_filename(upload.filename, media_type)
        key_id, sealed_name = sealer.seal(name.encode(), attachment_context(thread.id, sender, mid, "name"))
        _, sealed_data = sealer.seal(upload.data, attachment_context(thread.id, sender, mid, "content"))
        conn.execute(
            insert(attachments).values(
                message_id=mid,
                thread_id=thread.id,
                uploader=sender,
                media_type=media_type,
                size=len(upload.data),
                key_id=key_id,
                name=sealed_name,
                content=sealed_data,
                created_at=now,
            )
        )
        files = _files(conn, sealer, [mid])[mid]
    message = _public(row, sealer, rules, None, files)
    _publish(conn, sealer, thread, {"op": "new", "message": message.model_dump()}, now)
    return message


def page(
    conn: Connection,
    sealer: Sealer,
    rules: Rules,
    thread: Thread,
    viewer: str,
    before: int | None,
    limit: int,
) -> list[MessagePublic]:
    query = select(messages).where(messages.c.thread_id == thread.id)
    if before is not None:
        query = query.where(messages.c.id < before)
    rows = list(conn.execute(query.order_by(messages.c.id.desc()).limit(limit + 1)).mappings())
    files = _files(conn, sealer, [int(r["id"]) for r in rows])
    return [_public(r, sealer, rules, viewer, files.get(int(r["id"]))) for r in rows]


def attachment(
    conn: Connection, sealer: Sealer, thread: Thread, attachment_id: int
) -> tuple[str, str, bytes]:
    """(file name, media type, bytes) of an attachment of this thread."""
    row = conn.execute(
        select(attachments).where(attachments.c.id == attachment_id, attachments.c.thread_id == thread.id)
    ).first()
    if row is None:
        raise NotFound(f"no attachment {attachment_id} in thread {thread.id}")
    try:
        name = sealer.open(
            row.key_id, bytes(row.name), attachment_context(thread.id, row.uploader, row.message_id, "name")
        ).decode()
        data = sealer.open(
            row.key_id,
            bytes(row.content),
            attachment_context(thread.id, row.uploader, row.message_id, "content"),
        )
    except SealingError:
        raise NotFound("this attachment's key is no longer configured; it cannot be read") from None
    return name, row.media_type, data


def _own_message(conn: Connection, thread: Thread, message_id: int, author: str) -> Any:
    row = (
        conn.execute(select(messages).where(messages.c.id == message_id, messages.c.thread_id == thread.id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no message {message_id} in thread {thread.id}")
    if row["sender"] != author:
        raise NotAParty("only its author can change a message")
    if row["deleted_at"] is not None:
        raise Refused("this message was deleted")
    return row


def edit(
    conn: Connection,
    sealer: Sealer,
    rules: Rules,
    thread: Thread,
    message_id: int,
    author: str,
    body: str,
    now: int,
) -> MessagePublic:
    row = _own_message(conn, thread, message_id, author)
    _refuse_blocked(conn, author, thread.other(author))
    if now > row["created_at"] + rules.edit_seconds:
        minutes = rules.edit_seconds // 60
        raise Refused(f"a message can be edited for {minutes} minutes after sending; this one no longer")
    if len(body) > rules.max_chars:
        raise Refused(f"a message is at most {rules.max_chars:,} characters (this one has {len(body):,})")
    key_id, sealed = sealer.seal(body.encode(), message_context(thread.id, author))
    changed = (
        conn.execute(
            update(messages)
            # Not if a delete or an erasure committed meanwhile: never bring removed text back.
            .where(messages.c.id == message_id, messages.c.deleted_at.is_(None))
            .values(key_id=key_id, body=sealed, edited_at=now)
            .returning(*messages.c)
        )
        .mappings()
        .first()
    )
    if changed is None:
        raise Refused("this message was deleted")
    message = _public(changed, sealer, rules, None, _files(conn, sealer, [message_id]).get(message_id))
    _publish(conn, sealer, thread, {"op": "edited", "message": message.model_dump()}, now)
    return message


def delete(
    conn: Connection, sealer: Sealer, rules: Rules, thread: Thread, message_id: int, author: str, now: int
) -> MessagePublic:
    """The text and its files go; a tombstone keeps the thread's order ("message deleted")."""
    _own_message(conn, thread, message_id, author)
    conn.execute(sa_delete(attachments).where(attachments.c.message_id == message_id))
    changed = (
        conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(key_id=None, body=None, deleted_at=now, deleted_by="author")
            .returning(*messages.c)
        )
        .mappings()
        .one()
    )
    message = _public(changed, sealer, rules, None)
    _publish(conn, sealer, thread, {"op": "deleted", "message": message.model_dump()}, now)
    return message


def _set_read(conn: Connection, thread_id: int, address: str, up_to: int, now: int) -> bool:
    """Move the read receipt forward (never back); whether it moved. One statement (an upsert that
    updates only forwards), so two receipts at once never meet a unique violation."""
    moved = conn.execute(
        upsert(
            conn,
            thread_reads,
            {"thread_id": thread_id, "address": address, "last_read_id": up_to, "read_at": now},
            ["thread_id", "address"],
            only_if=lambda new: thread_reads.c.last_read_id < new.last_read_id,
        )
    ).rowcount
    return bool(moved)


def mark_read(
    conn: Connection, sealer: Sealer, thread: Thread, reader: str, up_to: int | None, now: int
) -> None:
    """Your read receipt up to `up_to` (default: the newest message); the other party hears of it."""
    newest = conn.execute(select(func.max(messages.c.id)).where(messages.c.thread_id == thread.id)).scalar()
    if newest is None:
        return
    target = min(int(up_to), int(newest)) if up_to is not None else int(newest)
    if (
        up_to is not None
        and not conn.execute(
            select(messages.c.id).where(messages.c.id == up_to, messages.c.thread_id == thread.id)
        ).first()
    ):
        raise NotFound(f"no message {up_to} in thread {thread.id}")
    if _set_read(conn, thread.id, reader, target, now):
        _publish(
            conn,
            sealer,
            thread,
            {"op": "read", "thread_id": thread.id, "reader": reader, "up_to": target},
            now,
        )


def typing(conn: Connection, thread: Thread, who: str, now: int) -> None:
    """A typing indicator for the other party's stream (no text, so not sealed)."""
    outbox.append(
        conn,
        [OutboxItem("typing", frozenset({thread.other(who)}), {"thread_id": thread.id, "from": who})],
        now=now,
    )


# ------------------------------------------------------------------ safety


def block(conn: Connection, me: str, other: str, now: int) -> int:
    if me == other:
        raise Refused("you cannot block yourself")
    existing = conn.execute(
        select(user_blocks.c.created_at).where(user_blocks.c.blocker == me, user_blocks.c.blocked == other)
    ).scalar()
    if existing is not None:
        return int(existing)
    try:
        with conn.begin_nested():
            conn.execute(insert(user_blocks).values(blocker=me, blocked=other, created_at=now))
    except IntegrityError:  # the same block, sent twice at once
        pass
    return now


def report(
    conn: Connection, thread: Thread, message_id: int, reporter: str, reason: str, now: int
) -> dict[str, Any]:
    row = conn.execute(
        select(messages.c.sender).where(messages.c.id == message_id, messages.c.thread_id == thread.id)
    ).first()
    if row is None:
        raise NotFound(f"no message {message_id} in thread {thread.id}")
    if row.sender == reporter:
        raise Refused("you cannot report your own message (delete it instead)")
    try:
        with conn.begin_nested():
            conn.execute(
                insert(message_reports).values(
                    message_id=message_id, reporter=reporter, reason=reason, created_at=now
                )
            )
    except IntegrityError:
        raise Refused("you have already reported this message") from None
    found = (
        conn.execute(
            select(message_reports).where(
                message_reports.c.message_id == message_id, message_reports.c.reporter == reporter
            )
        )
        .mappings()
        .one()
    )
    return {**found, "thread_id": thread.id}


# ------------------------------------------------------------------ the stream


def stream_opener(sealer: Sealer) -> Callable[[StoredItem], StoredItem]:
    """What the stream hub applies to each item it reads: sealed payloads opened (once per item)."""

    def open_item(item: StoredItem) -> StoredItem:
        sealed = item.payload.get("sealed")
        if not isinstance(sealed, str):
            return item
        try:
            payload = json.loads(sealer.open_text(sealed, OUTBOX_CONTEXT))
        except SealingError:  # a retired key: say so rather than hand out ciphertext
            payload = {"op": "unavailable"}
        return StoredItem(item.seq, item.kind, payload, item.audience, item.created_at)

    return open_item


# ------------------------------------------------------------------ key rotation


def rekey(conn: Connection, sealer: Sealer, *, batch: int = 500) -> int:
    """Re-seal up to `batch` rows of each kind (message bodies, attachments, shared evidence) that an
    older key of the ring sealed, with the current key — after a rotation, so the old key can then be
    removed; how many were re-sealed (0: everything readable is on the current key). Rows whose key
    is no longer configured cannot be opened by anyone and are left as they are (`unreadable`)."""
    old = [k for k in sealer.key_ids if k != sealer.current]
    if not old:
        return 0
    moved = 0
    for r in conn.execute(
        select(messages.c.id, messages.c.thread_id, messages.c.sender, messages.c.key_id, messages.c.body)
        .where(messages.c.body.is_not(None), messages.c.key_id.in_(old))
        .order_by(messages.c.id)
        .limit(batch)
    ).all():
        context = message_context(r.thread_id, r.sender)
        key_id, sealed = sealer.seal(sealer.open(r.key_id, bytes(r.body), context), context)
        # Unless an edit re-sealed it meanwhile (its key id changed): never write back older text.
        moved += conn.execute(
            update(messages)
            .where(messages.c.id == r.id, messages.c.key_id == r.key_id)
            .values(key_id=key_id, body=sealed)
        ).rowcount
    for a in conn.execute(
        select(attachments).where(attachments.c.key_id.in_(old)).order_by(attachments.c.id).limit(batch)
    ).all():
        name_ctx = attachment_context(a.thread_id, a.uploader, a.message_id, "name")
        data_ctx = attachment_context(a.thread_id, a.uploader, a.message_id, "content")
        key_id, name = sealer.seal(sealer.open(a.key_id, bytes(a.name), name_ctx), name_ctx)
        _, data = sealer.seal(sealer.open(a.key_id, bytes(a.content), data_ctx), data_ctx)
        conn.execute(
            update(attachments).where(attachments.c.id == a.id).values(key_id=key_id, name=name, content=data)
        )
        moved += 1
    for e in conn.execute(
        select(shared_evidence)
        .where(shared_evidence.c.body.is_not(None), shared_evidence.c.key_id.in_(old))
        .order_by(shared_evidence.c.id)
        .limit(batch)
    ).all():
        context = evidence_context(e.chain_id, e.engagement_id, e.shared_by, e.message_id)
        key_id, sealed = sealer.seal(sealer.open(e.key_id, bytes(e.body), context), context)
        conn.execute(
            update(shared_evidence).where(shared_evidence.c.id == e.id).values(key_id=key_id, body=sealed)
        )
        moved += 1
    return moved


def unreadable(conn: Connection, sealer: Sealer) -> int:
    """Rows sealed with a key the ring no longer has (nobody can open them)."""
    known = sealer.key_ids
    return sum(
        int(
            conn.execute(
                select(func.count()).select_from(t).where(cond, t.c.key_id.not_in(known))
            ).scalar_one()
        )
        for t, cond in (
            (messages, messages.c.body.is_not(None)),
            (attachments, attachments.c.id.is_not(None)),
            (shared_evidence, shared_evidence.c.body.is_not(None)),
        )
    )


def evidence_context(chain_id: int, engagement_id: int, shared_by: str, message_id: int) -> bytes:
    """Associated data of a message's copy shared as evidence."""
    return f"skillchain-evidence:{chain_id}:{engagement_id}:{shared_by}:{message_id}".encode()
