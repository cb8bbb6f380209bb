"""GET /events/stream: the signed-in wallet's live stream (server-sent events)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from api.auth.store import Session, find_session
from api.deps import _bearer
from api.models import ERRORS
from api.stream.hub import StreamHub, Subscriber, TooManyStreams
from api.stream.response import LiveStreamResponse
from bus import outbox
from bus.outbox import StoredItem

router = APIRouter(tags=["stream"], responses=ERRORS)

REPLAY_LIMIT = 1000  # items one reconnect replays; more and the client is told to resync


async def stream_session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    """Like CurrentSession, but the lookup runs in a thread on a connection returned at once: a
    stream lasts hours and must not hold a pooled connection (nor block the event loop)."""
    if credentials is None:
        raise HTTPException(401, "sign in first: send 'Authorization: Bearer <session token>'")
    engine = request.app.state.engine

    def lookup() -> Session | None:
        with engine.connect() as conn:
            return find_session(conn=conn, token=credentials.credentials, now=int(time.time()))

    session = await asyncio.to_thread(lookup)
    if session is None:
        raise HTTPException(401, "session unknown, expired or signed out")
    return session


def _event(item: StoredItem) -> bytes:
    return item.frame


def _sse(event: str, data: str, *, id: int | None = None) -> bytes:
    """One server-sent event (`data` is compact JSON: one line)."""
    head = f"id: {id}\n" if id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


CONNECTED = b": connected\n\n"
PING = b": ping\n\n"  # a comment: EventSource ignores it, proxies see traffic


@router.get(
    "/events/stream",
    summary="Your live stream: every event of your engagements, reorg retractions, notifications, messages",
    response_class=LiveStreamResponse,
    status_code=200,  # (FastAPI reads a default from the class otherwise; this one takes none)
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-sent events. `id` is the outbox sequence (send it back as "
            "Last-Event-ID to resume); `event` is chain_event, retraction, notification, message, signal "
            "or resync; `data` is JSON. A comment line every 15 s keeps proxies from closing the stream.",
        },
        429: {"description": "too many open streams for this wallet"},
    },
)
async def stream(
    request: Request,
    session: Annotated[Session, Depends(stream_session)],
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", max_length=18, description="resume after this id (set by EventSource)"),
    ] = None,
) -> LiveStreamResponse:
    hub: StreamHub = request.app.state.hub
    digits = last_event_id is not None and last_event_id.isascii() and last_event_id.isdigit()
    resume = int(last_event_id) if digits and last_event_id else None
    await asyncio.to_thread(hub.start)  # the first stream starts the reader (it reads the database)
    try:
        sub = hub.subscribe(session.address, asyncio.get_running_loop())
    except TooManyStreams:
        raise HTTPException(
            429, f"this wallet already has {hub.per_user} open streams; close one first"
        ) from None
    token = request.headers.get("authorization", "").partition(" ")[2]
    return LiveStreamResponse(
        _items(request, hub, sub, resume, token),
        on_disconnect=sub.close,
        send_timeout=30,  # a client that stops reading is dropped (its slot freed)
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


SESSION_RECHECK = 60.0  # seconds between checks that the stream's session is still valid


def _resync(reason: str, last: int) -> bytes:
    """Tell the client to reload its data; its id lets the next reconnect start from here."""
    return _sse("resync", json.dumps({"reason": reason, "last": last}), id=last)


async def _items(
    request: Request, hub: StreamHub, sub: Subscriber, resume: int | None, token: str
) -> AsyncIterator[bytes]:
    engine = request.app.state.engine

    def still_signed_in() -> bool:
        with engine.connect() as conn:
            return find_session(conn=conn, token=token, now=int(time.time())) is not None

    try:
        last = sub.start
        yield CONNECTED
        if resume is not None:
            oldest = await asyncio.to_thread(hub.oldest)
            if resume > sub.start:
                yield _resync("Last-Event-ID is ahead of this server's stream", last)
            elif oldest and resume < oldest - 1:
                yield _resync("what you missed is older than the stream keeps", last)
            else:

                def missed() -> list[StoredItem]:
                    with engine.connect() as conn:
                        items = outbox.replay(conn, sub.address, resume, REPLAY_LIMIT + 1)
                    return [hub.open_item(i) for i in items]

                replayed = await asyncio.to_thread(missed)
                if len(replayed) > REPLAY_LIMIT:  # too far behind: reload the data, then stream on
                    yield _resync("too many missed items", last)
                else:
                    last = resume
                    for item in replayed:
                        yield _event(item)
                        last = item.seq
                    last = max(last, sub.start) if not replayed else last
        checked = time.monotonic()
        while True:
            if sub.overflowed and not sub.pending:
                # The client fell too far behind: what followed was dropped; it reconnects with this
                # id and replays the rest from the outbox.
                yield _resync("fell behind", last)
                return
            if time.monotonic() - checked >= SESSION_RECHECK:
                if not await asyncio.to_thread(still_signed_in):
                    yield _sse("session_ended", "{}")
                    return
                checked = time.monotonic()
            await sub.wait()  # no timer per wait: the hub's tick wakes idle streams
            if sub.closed:
                return
            if sub.pending:
                # Everything already queued goes out in one write (one send per burst, not per item).
                chunk = []
                for item in sub.pending:
                    if item.seq > last:  # else already replayed
                        chunk.append(item.frame)
                        last = item.seq
                sub.pending.clear()
                if chunk:
                    yield b"".join(chunk)
            elif sub.ticked:
                sub.ticked = False
                yield PING
    finally:
        hub.unsubscribe(sub)
