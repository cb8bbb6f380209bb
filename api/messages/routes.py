"""Messages over HTTP: inquiries on a listing, a thread per engagement, read receipts, typing, blocks
and reports. The other party hears of every change on their live stream (GET /events/stream)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Request, Response, UploadFile
from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool

from api.auth.ratelimit import RateLimiter
from api.deps import (
    AdminSession,
    BearerDep,
    ClockDep,
    ConnDep,
    CurrentSession,
    EngineDep,
    SealerDep,
    SettingsDep,
    published,
    signed_in,
)
from api.messages import evidence, service
from api.messages.schemas import (
    MAX_CHARS,
    BlockPublic,
    BlocksPublic,
    InquiryCreated,
    InquiryIn,
    MessageIn,
    MessagePublic,
    MessagesPublic,
    ReadIn,
    ReportedPublic,
    ReportIn,
    ReportPublic,
    ReportsPublic,
    SharedAdded,
    SharedEvidencePage,
    ShareIn,
    ThreadPublic,
    ThreadsPublic,
    UnreadPublic,
)
from api.models import ERRORS, Address
from api.pagination import CursorQuery, LimitQuery, cursor_keys, page_of
from db.messages import message_reports, messages, user_blocks

router = APIRouter(tags=["messages"], responses=ERRORS)

ThreadId = Annotated[int, Path(ge=1, lt=2**63, description="a thread's id")]
MessageId = Annotated[int, Path(ge=1, lt=2**63, description="a message's id")]
ListingId = Annotated[int, Path(ge=1, lt=2**31)]
EngagementId = Annotated[int, Path(ge=0, lt=2**63)]


@contextmanager
def _refusals() -> Iterator[None]:
    """The service's refusals, in HTTP."""
    try:
        yield
    except service.NotFound as e:
        raise HTTPException(404, str(e)) from None
    except (service.NotAParty, service.Blocked) as e:
        raise HTTPException(403, str(e)) from None
    except service.Refused as e:
        raise HTTPException(409, str(e)) from None
    except service.TooLarge as e:
        raise HTTPException(413, str(e)) from None
    except service.Unsupported as e:
        raise HTTPException(415, str(e)) from None


async def _rules(settings: SettingsDep) -> service.Rules:
    return service.Rules.of(settings)


RulesDep = Annotated[service.Rules, Depends(_rules)]


async def send_quota(request: Request, session: CurrentSession) -> None:
    """Messages per minute per sender (SKILLCHAIN_MESSAGE_RATE_LIMIT), shared by the replicas with Redis
    (then checked in a worker thread; in memory, on the loop: no thread hop per send)."""
    limiter: RateLimiter = request.app.state.message_limiter
    if limiter.in_memory:
        _charge_send(request, session.address)
    else:
        await run_in_threadpool(_charge_send, request, session.address)


def _charge_send(request: Request, address: str) -> None:
    wait = request.app.state.message_limiter.check(address)
    if wait is not None:
        raise HTTPException(
            429, "you are sending messages too fast; wait a moment", headers={"Retry-After": str(wait)}
        )


SendQuota = Depends(send_quota)


@router.post(
    "/listings/{listing_id}/inquiries",
    response_model=InquiryCreated,
    status_code=201,
    summary="Write to a listing's owner before booking (opens your thread with them)",
    responses={403: {}, 404: {}, 409: {}, 429: {}},
    dependencies=[SendQuota],
)
def inquire(
    listing_id: ListingId,
    body: InquiryIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    sealer: SealerDep,
    rules: RulesDep,
    clock: ClockDep,
) -> InquiryCreated:
    now = int(clock())
    with _refusals():
        thread = service.inquiry_thread(conn, listing_id, session.address, now)
        message = service.send(conn, sealer, rules, thread, session.address, body.body, now)
        described = service.describe(conn, thread, session.address)
    published(request, conn)
    return InquiryCreated(thread=described, message=message)


@router.post(
    "/engagements/{engagement_id}/thread",
    response_model=ThreadPublic,
    summary="The engagement's thread between its client and provider (opened on first use)",
    responses={403: {}, 404: {}},
)
def engagement_thread(
    engagement_id: EngagementId,
    session: CurrentSession,
    conn: ConnDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> ThreadPublic:
    with _refusals():
        thread = service.engagement_thread(
            conn, settings.chain_id, engagement_id, session.address, int(clock())
        )
        return service.describe(conn, thread, session.address)


@router.get("/threads", response_model=ThreadsPublic, summary="Your threads, most recent first")
def list_threads(
    session: CurrentSession, conn: ConnDep, cursor: CursorQuery = None, limit: LimitQuery = 20
) -> ThreadsPublic:
    found = service.my_threads(conn, session.address, cursor_keys(cursor, 2), limit)
    shown, next_cursor = page_of(found, limit, lambda t: (t.last_message_at, t.id))
    return ThreadsPublic(
        data=service.describe_many(conn, shown, session.address), next_cursor=next_cursor, total=None
    )


@router.get("/me/unread", response_model=UnreadPublic, summary="Your unread messages, over all threads")
def unread(session: CurrentSession, conn: ConnDep) -> UnreadPublic:
    count_threads, count_messages = service.unread_totals(conn, session.address)
    return UnreadPublic(threads=count_threads, messages=count_messages)


@router.get(
    "/threads/{thread_id}",
    response_model=ThreadPublic,
    summary="One of your threads",
    responses={403: {}, 404: {}},
)
def get_thread(thread_id: ThreadId, session: CurrentSession, conn: ConnDep) -> ThreadPublic:
    with _refusals():
        return service.describe(conn, service.thread_of(conn, thread_id, session.address), session.address)


@router.get(
    "/threads/{thread_id}/messages",
    response_model=MessagesPublic,
    summary="A thread's messages, newest first",
    responses={403: {}, 404: {}},
)
def list_messages(
    thread_id: ThreadId,
    session: CurrentSession,
    conn: ConnDep,
    sealer: SealerDep,
    rules: RulesDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> MessagesPublic:
    keys = cursor_keys(cursor, 1)
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        found = service.page(conn, sealer, rules, thread, session.address, keys[0] if keys else None, limit)
    shown, next_cursor = page_of(found, limit, lambda m: (m.id,))
    return MessagesPublic(data=shown, next_cursor=next_cursor, total=None)


@router.post(
    "/threads/{thread_id}/messages",
    response_model=MessagePublic,
    status_code=201,
    summary="Send a message (the other party gets it live on their stream)",
    responses={403: {}, 404: {}, 409: {}, 429: {}},
)
async def send_message(
    thread_id: ThreadId,
    body: MessageIn,
    request: Request,
    credentials: BearerDep,
    engine: EngineDep,
    sealer: SealerDep,
    rules: RulesDep,
    clock: ClockDep,
) -> MessagePublic:
    """The busiest write: all of its database work (the session, the quota, the thread, the insert,
    the commit) in one worker-thread call. As a plain route with the usual dependencies it took five
    thread hops (connection in and out, session, route, response), whose hand-offs cost more CPU than
    the work (bench/messages.py)."""

    def work() -> MessagePublic:
        with engine.begin() as conn:
            session = signed_in(conn, credentials)
            _charge_send(request, session.address)
            with _refusals():
                thread = service.writable_thread(conn, thread_id, session.address)
                message = service.send(
                    conn, sealer, rules, thread, session.address, body.body, int(clock()), blocks_checked=True
                )
            published(request, conn)
            return message

    return await run_in_threadpool(work)


AttachmentId = Annotated[int, Path(ge=1, lt=2**63, description="an attachment's id")]
ATTACHMENT_PATH = re.compile(r"^/threads/[0-9]+/attachments$")


@router.post(
    "/threads/{thread_id}/attachments",
    response_model=MessagePublic,
    status_code=201,
    summary="Send a file: an image (PNG, JPEG, GIF, WebP) or a PDF, up to 5 MB (configurable)",
    description="A multipart form with `file` and an optional caption `body`. The type is read from the "
    "content (an executable named `.png` is refused with 415); the file is stored encrypted in the "
    "database, never on IPFS.",
    responses={403: {}, 404: {}, 413: {}, 415: {}, 429: {}},
    dependencies=[SendQuota],
)
def send_attachment(
    thread_id: ThreadId,
    request: Request,
    file: Annotated[UploadFile, File(description="the image or PDF")],
    session: CurrentSession,
    conn: ConnDep,
    sealer: SealerDep,
    rules: RulesDep,
    clock: ClockDep,
    body: Annotated[str, Form(max_length=MAX_CHARS, description="an optional caption")] = "",
) -> MessagePublic:
    data = file.file.read(rules.attachment_bytes + 1)  # already spooled by the form parser
    if len(data) > rules.attachment_bytes:
        raise HTTPException(413, f"an attachment is at most {rules.attachment_bytes:,} bytes")
    if not data:
        raise HTTPException(422, "file: the file is empty")
    upload = service.Upload(file.filename or "attachment", data)
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        message = service.send(
            conn, sealer, rules, thread, session.address, body.strip(), int(clock()), upload=upload
        )
    published(request, conn)
    return message


@router.get(
    "/threads/{thread_id}/attachments/{attachment_id}",
    summary="Download an attachment (the thread's parties only)",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in service.ACCEPTED}, "description": "the file"},
        403: {},
        404: {},
    },
)
def get_attachment(
    thread_id: ThreadId,
    attachment_id: AttachmentId,
    session: CurrentSession,
    conn: ConnDep,
    sealer: SealerDep,
) -> Response:
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        name, media_type, data = service.attachment(conn, sealer, thread, attachment_id)
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
            # Opened directly, it runs nothing and loads nothing.
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


@router.patch(
    "/threads/{thread_id}/messages/{message_id}",
    response_model=MessagePublic,
    summary="Edit your message (within SKILLCHAIN_MESSAGE_EDIT_MINUTES of sending)",
    responses={403: {}, 404: {}, 409: {}},
)
def edit_message(
    thread_id: ThreadId,
    message_id: MessageId,
    body: MessageIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    sealer: SealerDep,
    rules: RulesDep,
    clock: ClockDep,
) -> MessagePublic:
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        message = service.edit(
            conn, sealer, rules, thread, message_id, session.address, body.body, int(clock())
        )
    published(request, conn)
    return message


@router.delete(
    "/threads/{thread_id}/messages/{message_id}",
    response_model=MessagePublic,
    summary="Delete your message (its text goes; the thread shows that a message was deleted)",
    responses={403: {}, 404: {}, 409: {}},
)
def delete_message(
    thread_id: ThreadId,
    message_id: MessageId,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    sealer: SealerDep,
    rules: RulesDep,
    clock: ClockDep,
) -> MessagePublic:
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        message = service.delete(conn, sealer, rules, thread, message_id, session.address, int(clock()))
    published(request, conn)
    return message


@router.post(
    "/threads/{thread_id}/read",
    response_model=ThreadPublic,
    summary="Your read receipt: you have read up to a message (default: the newest)",
    responses={403: {}, 404: {}},
)
def mark_read(
    thread_id: ThreadId,
    body: ReadIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    sealer: SealerDep,
    clock: ClockDep,
) -> ThreadPublic:
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        service.mark_read(conn, sealer, thread, session.address, body.up_to, int(clock()))
        described = service.describe(conn, thread, session.address)
    published(request, conn)
    return described


@router.post(
    "/threads/{thread_id}/typing",
    status_code=204,
    summary="Tell the other party you are typing (a `typing` item on their stream)",
    responses={403: {}, 404: {}, 429: {}},
)
def typing(
    thread_id: ThreadId, request: Request, session: CurrentSession, conn: ConnDep, clock: ClockDep
) -> Response:
    if request.app.state.typing_limiter.check(f"{session.address}:{thread_id}") is not None:
        return Response(status_code=204)  # the other party already knows: once in a few seconds is enough
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        if service.block_between(conn, session.address, thread.other(session.address)) is None:
            service.typing(conn, thread, session.address, int(clock()))
    published(request, conn)
    return Response(status_code=204)


@router.post(
    "/threads/{thread_id}/messages/{message_id}/report",
    response_model=ReportPublic,
    status_code=201,
    summary="Report a message to the operators (they see it and your reason, nothing else)",
    responses={403: {}, 404: {}, 409: {}},
)
def report_message(
    thread_id: ThreadId,
    message_id: MessageId,
    body: ReportIn,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
) -> ReportPublic:
    with _refusals():
        thread = service.thread_of(conn, thread_id, session.address)
        found = service.report(conn, thread, message_id, session.address, body.reason, int(clock()))
    return ReportPublic(**found)


@router.post(
    "/engagements/{engagement_id}/shared-evidence",
    response_model=SharedAdded,
    status_code=201,
    summary="In a dispute: share chosen messages (and the session's attendance) with the arbiter",
    responses={403: {}, 404: {}, 409: {}},
)
def share_evidence(
    engagement_id: EngagementId,
    body: ShareIn,
    session: CurrentSession,
    conn: ConnDep,
    settings: SettingsDep,
    sealer: SealerDep,
    clock: ClockDep,
) -> SharedAdded:
    if not body.message_ids and not body.attendance:
        raise HTTPException(422, "choose messages to share, or the attendance, or both")
    with _refusals():
        added = evidence.share(
            conn,
            sealer,
            settings.chain_id,
            engagement_id,
            session.address,
            list(dict.fromkeys(body.message_ids)),
            body.attendance,
            int(clock()),
        )
    return SharedAdded(added=added)


@router.get(
    "/engagements/{engagement_id}/shared-evidence",
    response_model=SharedEvidencePage,
    summary="What the parties shared with the arbiter: each item with who shared it and when",
    responses={403: {}, 404: {}},
)
def list_shared_evidence(
    engagement_id: EngagementId,
    session: CurrentSession,
    conn: ConnDep,
    settings: SettingsDep,
    sealer: SealerDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> SharedEvidencePage:
    keys = cursor_keys(cursor, 1)
    with _refusals():
        found = evidence.shared(
            conn, sealer, settings.chain_id, engagement_id, session.address, keys[0] if keys else None, limit
        )
    shown, next_cursor = page_of(found, limit, lambda e: (e.id,))
    return SharedEvidencePage(data=shown, next_cursor=next_cursor, total=None)


@router.get(
    "/engagements/{engagement_id}/shared-evidence/{shared_id}/file",
    summary="A shared item's file (the arbiter and the two parties only), as it was when shared",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in service.ACCEPTED}, "description": "the file"},
        403: {},
        404: {},
    },
)
def get_shared_file(
    engagement_id: EngagementId,
    shared_id: Annotated[int, Path(ge=1, lt=2**63)],
    session: CurrentSession,
    conn: ConnDep,
    settings: SettingsDep,
    sealer: SealerDep,
) -> Response:
    with _refusals():
        name, media_type, data = evidence.shared_file(
            conn, sealer, settings.chain_id, engagement_id, session.address, shared_id
        )
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@router.get("/me/blocks", response_model=BlocksPublic, summary="Wallets you have blocked, most recent first")
def list_blocks(
    session: CurrentSession, conn: ConnDep, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> BlocksPublic:
    # Ordered by (time, address as a number) in Python: one wallet's blocks are few, and a
    # checksummed address's text order is not its numeric order.
    keys = cursor_keys(cursor, 2, wide_last=True)
    rows = sorted(
        (
            (int(r.created_at), int(r.blocked, 16), r.blocked)
            for r in conn.execute(
                select(user_blocks.c.blocked, user_blocks.c.created_at).where(
                    user_blocks.c.blocker == session.address
                )
            )
        ),
        reverse=True,
    )
    total = len(rows)
    if keys is not None:
        rows = [r for r in rows if (r[0], r[1]) < keys]
    shown, next_cursor = page_of(rows[: limit + 1], limit, lambda r: (r[0], r[1]))
    return BlocksPublic(
        data=[BlockPublic(address=r[2], created_at=r[0]) for r in shown],
        next_cursor=next_cursor,
        total=total,
    )


@router.put(
    "/me/blocks/{address}",
    response_model=BlockPublic,
    summary="Block a wallet: no more inquiries or messages from it (it is not told)",
    responses={409: {}},
)
def block(address: Address, session: CurrentSession, conn: ConnDep, clock: ClockDep) -> BlockPublic:
    with _refusals():
        since = service.block(conn, session.address, address, int(clock()))
    return BlockPublic(address=address, created_at=since)


@router.delete("/me/blocks/{address}", status_code=204, summary="Unblock a wallet")
def unblock(address: Address, session: CurrentSession, conn: ConnDep) -> Response:
    conn.execute(
        delete(user_blocks).where(user_blocks.c.blocker == session.address, user_blocks.c.blocked == address)
    )
    return Response(status_code=204)


@router.get(
    "/admin/message-reports",
    response_model=ReportsPublic,
    summary="Reported messages, newest first (operators)",
    tags=["admin"],
)
def reports(
    _admin: AdminSession,
    conn: ConnDep,
    sealer: SealerDep,
    rules: RulesDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> ReportsPublic:
    keys = cursor_keys(cursor, 1)
    query = select(message_reports, messages).join(messages, messages.c.id == message_reports.c.message_id)
    if keys:
        query = query.where(message_reports.c.id < keys[0])
    rows = list(conn.execute(query.order_by(message_reports.c.id.desc()).limit(limit + 1)))
    shown, next_cursor = page_of(rows, limit, lambda r: (int(r[0]),))
    data = []
    for r in shown:
        report_row = r._mapping
        body_row = {c.name: report_row[c] for c in messages.c}
        message = service._public(body_row, sealer, rules, None)
        data.append(
            ReportedPublic(
                id=report_row[message_reports.c.id],
                message_id=message.id,
                thread_id=message.thread_id,
                reporter=report_row[message_reports.c.reporter],
                reason=report_row[message_reports.c.reason],
                created_at=report_row[message_reports.c.created_at],
                sender=message.sender,
                body=message.body,
            )
        )
    return ReportsPublic(data=data, next_cursor=next_cursor, total=None)
