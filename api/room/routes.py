"""The session room over HTTP and WebSocket: GET /rooms/{booking_id} says when it opens and who was
there; /rooms/{booking_id}/ws carries the signalling (protocol: api/room/protocol.py, docs/room.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import MutableMapping
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, WebSocket
from pydantic import BaseModel, Field, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from api.auth.store import Session, find_session
from api.deps import ClockDep, ConnDep, CurrentSession, SettingsDep
from api.messages import service as messages
from api.models import ERRORS
from api.room import service
from api.room.protocol import (
    CLIENT_FRAMES,
    MAX_FRAME_BYTES,
    Answer,
    Attendance,
    Candidate,
    Chat,
    ChatOut,
    Closing,
    ErrorOut,
    Hangup,
    Join,
    Joined,
    Offer,
    Ping,
    Pong,
)
from api.room.relay import SignalWriter
from api.room.service import Room, RoomRefused
from api.stream.hub import StreamHub, Subscriber

log = logging.getLogger("skillchain.room")
router = APIRouter(tags=["room"], responses=ERRORS)

BookingId = Annotated[str, Path(pattern=r"^0x[0-9a-f]{64}$", description="the booking's id")]
JOIN_TIMEOUT = 10.0  # seconds to send `join` after connecting
FRAME_BURST = 200  # frames a connection may send per FRAME_WINDOW seconds (a call needs ~30)
FRAME_WINDOW = 10.0


class RoomPublic(BaseModel):
    booking_id: str
    learner: str
    mentor: str
    starts_at: int
    ends_at: int
    opens_at: int = Field(description="10 minutes before the start")
    closes_at: int = Field(description="the end plus SKILLCHAIN_ROOM_GRACE_MINUTES")
    state: str = Field(description="the booking's state; the room opens only for a confirmed session")
    open_now: bool
    engagement_id: int | None
    websocket: str = Field(description="path of the signalling WebSocket (send `join` first)")
    ice_servers: list[dict[str, Any]]
    attendance: list[Attendance]


def _ice_servers(settings: Any) -> list[dict[str, Any]]:
    return [s.model_dump(exclude_none=True) for s in settings.room_ice_servers]


@router.get(
    "/rooms/{booking_id}",
    response_model=RoomPublic,
    summary="A booked session's room: its window, the ICE servers, who joined and when (parties only)",
    responses={403: {}, 404: {}},
)
def get_room(
    booking_id: BookingId, session: CurrentSession, conn: ConnDep, settings: SettingsDep, clock: ClockDep
) -> RoomPublic:
    now = int(clock())
    try:
        room = service.room_of(conn, booking_id, now, settings.room_grace_minutes * 60)
    except RoomRefused as e:
        raise HTTPException(404, e.reason) from None
    if session.address not in room.parties:
        raise HTTPException(403, "only the session's learner and mentor can see its room")
    try:
        service.admit(room, session.address, now)
        open_now = True
    except RoomRefused:
        open_now = False
    return RoomPublic(
        booking_id=room.booking_id,
        learner=room.learner,
        mentor=room.mentor,
        starts_at=room.starts_at,
        ends_at=room.ends_at,
        opens_at=room.opens_at,
        closes_at=room.closes_at,
        state=room.state,
        open_now=open_now,
        engagement_id=room.engagement_id,
        websocket=f"/rooms/{booking_id}/ws",
        ice_servers=_ice_servers(settings),
        attendance=service.attendance(conn, booking_id),
    )


def _parse(message: MutableMapping[str, Any]) -> Any:
    """One client frame, or RoomRefused with the documented close code."""
    text = message.get("text")
    if text is None:
        data = message.get("bytes") or b""
        if len(data) > MAX_FRAME_BYTES:
            raise RoomRefused(1009, f"frames are at most {MAX_FRAME_BYTES} bytes")
        raise RoomRefused(4400, "frames are JSON text, not binary")
    if len(text) > MAX_FRAME_BYTES:  # characters ≥ bytes / 4: checked on the encoded size below too
        raise RoomRefused(1009, f"frames are at most {MAX_FRAME_BYTES} bytes")
    if len(text.encode()) > MAX_FRAME_BYTES:
        raise RoomRefused(1009, f"frames are at most {MAX_FRAME_BYTES} bytes")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise RoomRefused(4400, "a frame is one JSON object") from None
    if not isinstance(raw, dict):
        raise RoomRefused(4400, "a frame is one JSON object")
    try:
        return CLIENT_FRAMES.validate_python(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise RoomRefused(4400, f"{where}: {first.get('msg', 'invalid')}"[:120]) from None


async def _send(ws: WebSocket, frame: BaseModel | dict[str, Any]) -> None:
    data = frame.model_dump(mode="json", by_alias=True) if isinstance(frame, BaseModel) else frame
    await ws.send_text(json.dumps(data, separators=(",", ":")))


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.client_state != WebSocketState.CONNECTED:
        return
    try:
        await _send(ws, Closing(code=code, reason=reason))
        await ws.close(code, reason[:120])
    except (RuntimeError, WebSocketDisconnect, OSError):
        pass


@router.websocket("/rooms/{booking_id}/ws", name="room_socket")
async def room_socket(ws: WebSocket, booking_id: str) -> None:
    await ws.accept()
    try:
        await _serve(ws, booking_id)
    except RoomRefused as e:
        await _close(ws, e.code, e.reason)
    except messages.NotAParty as e:  # e.g. the booking's engagement has other parties
        await _close(ws, 4403, str(e))
    except messages.MessagingError as e:
        await _close(ws, 4409, str(e))
    except WebSocketDisconnect:
        pass


async def _serve(ws: WebSocket, booking_id: str) -> None:
    app: Any = ws.app
    engine, settings, sealer = app.state.engine, app.state.settings, app.state.sealer
    hub: StreamHub = app.state.hub

    def clock() -> float:
        return float(app.state.clock())

    try:
        first = await asyncio.wait_for(ws.receive(), JOIN_TIMEOUT)
    except TimeoutError:
        raise RoomRefused(4401, "send a join frame with your session token first") from None
    if first["type"] == "websocket.disconnect":
        return
    frame = _parse(first)
    if not isinstance(frame, Join):
        raise RoomRefused(4401, "the first frame must be join, with your session token")
    if not (booking_id.startswith("0x") and len(booking_id) == 66):
        raise RoomRefused(4404, "no such booking")
    connection = secrets.token_hex(8)
    grace = settings.room_grace_minutes * 60

    def enter() -> tuple[Session, Room, int, int, bool, list[Attendance]]:
        with engine.begin() as conn:
            session = find_session(conn=conn, token=frame.token, now=int(time.time()))
            if session is None:
                raise RoomRefused(4401, "session unknown, expired or signed out")
            now = int(clock())
            room = service.room_of(conn, booking_id, now, grace)
            service.admit(room, session.address, now)
            assert room.chain_id is not None and room.engagement_id is not None  # admit checked it
            thread = messages.engagement_thread(conn, room.chain_id, room.engagement_id, session.address, now)
            peer_present = service.present(conn, booking_id, room.other(session.address))
            attendance_id = service.joined(conn, room, session.address, connection, now, sealer)
            seen = service.attendance(conn, booking_id)
            return session, room, thread.id, attendance_id, peer_present, seen

    await asyncio.to_thread(hub.start)
    session, room, thread_id, attendance_id, peer_present, seen = await asyncio.to_thread(enter)
    me = session.address
    sub = hub.subscribe(me, asyncio.get_running_loop(), counted=False)
    hub.written()
    code, reason = 1000, "left"
    tasks: tuple[asyncio.Task[None], ...] = ()
    try:
        await _send(
            ws,
            Joined(
                you=me,
                peer=room.other(me),
                peer_present=peer_present,
                polite=me == room.learner,
                ice_servers=_ice_servers(settings),
                closes_at=room.closes_at,
                attendance=seen,
            ),
        )
        reader = asyncio.create_task(_read(ws, app, room, me, connection, thread_id))
        writer = asyncio.create_task(_write(ws, sub, room, me, connection, thread_id, app, frame.token))
        tasks = (reader, writer)
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            error = task.exception()
            if isinstance(error, RoomRefused):
                code, reason = error.code, error.reason
            elif isinstance(error, WebSocketDisconnect):
                code, reason = 1000, "gone"
            elif error is not None:
                log.warning("room %s: %s", booking_id, error)
                code, reason = 1011, "server error"
    finally:
        for task in tasks:  # also when this handler itself is cancelled (server shutdown)
            task.cancel()
        hub.unsubscribe(sub)

        def leave() -> None:
            with engine.begin() as conn:
                service.left(conn, room, me, connection, attendance_id, int(clock()), sealer)

        await asyncio.to_thread(leave)
        hub.written()
    await _close(ws, code, reason)


class _Relay:
    """This connection's frames through the loop's SignalWriter; a write that failed ends the room at
    the next frame (its frames were not relayed). Every batch's outcome is watched, not just the
    last one's: a failed batch followed by one that worked still ends the room."""

    def __init__(self, writer: SignalWriter, room: Room, me: str, connection: str) -> None:
        self.writer, self.room, self.me, self.connection = writer, room, me, connection
        self.last: asyncio.Future[BaseException | None] | None = None
        self.failed = False

    def add(self, frame: dict[str, Any]) -> None:
        self._raise_failed()
        batch = self.writer.add(self.room, self.me, self.connection, frame)
        if batch is not self.last:
            batch.add_done_callback(self._watch)
        self.last = batch

    def _watch(self, batch: asyncio.Future[BaseException | None]) -> None:
        if batch.cancelled() or batch.result() is not None:
            self.failed = True

    def _raise_failed(self) -> None:
        if self.failed:
            raise RoomRefused(1011, "signalling could not be relayed: reconnect")

    async def drain(self) -> None:
        """Until every frame added so far is written."""
        if self.last is not None:
            await asyncio.shield(self.last)
            self._watch(self.last)  # its callback may not have run yet
            self._raise_failed()


async def _read(ws: WebSocket, app: Any, room: Room, me: str, connection: str, thread_id: int) -> None:
    """Client → server until hang-up, disconnect or a refusal (raised as RoomRefused)."""
    engine, sealer, hub, settings = app.state.engine, app.state.sealer, app.state.hub, app.state.settings

    def clock() -> float:
        return float(app.state.clock())

    rules = messages.Rules.of(settings)

    relay = _Relay(app.state.signal_writers.here(), room, me, connection)
    window_start, count = time.monotonic(), 0
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        frame = _parse(message)
        now_mono = time.monotonic()
        if now_mono - window_start > FRAME_WINDOW:
            window_start, count = now_mono, 0
        count += 1
        if count > FRAME_BURST:
            raise RoomRefused(4429, f"at most {FRAME_BURST} frames per {FRAME_WINDOW:.0f} seconds")
        if isinstance(frame, Ping):
            await _send(ws, Pong(at=int(clock())))
            continue
        if isinstance(frame, Join):
            raise RoomRefused(4400, "already joined")
        if isinstance(frame, Chat):
            if app.state.message_limiter.check(me) is not None:  # the same limit as every message
                await _send(ws, ErrorOut(reason="you are sending messages too fast; wait a moment"))
                continue

            def chat(body: str = frame.body) -> None:
                with engine.begin() as conn:
                    thread = messages.thread_of(conn, thread_id, me)
                    messages.send(conn, sealer, rules, thread, me, body, int(clock()), origin="room")

            try:
                await asyncio.to_thread(chat)
            except messages.MessagingError as e:
                await _send(ws, ErrorOut(reason=str(e)))
                continue
            hub.written()
            continue
        assert isinstance(frame, Offer | Answer | Candidate | Hangup)
        relay.add(frame.model_dump(exclude_none=True))
        if isinstance(frame, Hangup):
            await relay.drain()
            raise RoomRefused(1000, "you hung up")


async def _write(
    ws: WebSocket,
    sub: Subscriber,
    room: Room,
    me: str,
    connection: str,
    thread_id: int,
    app: Any,
    token: str,
) -> None:
    """Outbox → client: the other party's signals for this room, and the chat of its thread."""
    engine = app.state.engine

    def signed_in() -> bool:
        with engine.connect() as conn:
            return find_session(conn=conn, token=token, now=int(time.time())) is not None

    while True:
        if sub.overflowed and not sub.pending:
            raise RoomRefused(1013, "fell behind: reconnect")
        item = await sub.get()
        if item is None:  # the hub's tick: the window may have ended, the session too
            if int(app.state.clock()) >= room.closes_at:  # the app's clock as it is now (tests move it)
                raise RoomRefused(4000, f"the room closed at {room.closes_at}")
            if not await asyncio.to_thread(signed_in):
                raise RoomRefused(4401, "your session ended (expired or signed out)")
            continue
        payload = item.payload
        if item.kind == "signal" and payload.get("room") == room.booking_id:
            if payload.get("conn") == connection:
                continue
            frame = payload.get("frame", {})
            if frame.get("type") == "replaced":
                if payload.get("from") == me:
                    raise RoomRefused(4410, "you joined this room from another tab or device")
                continue
            await _send(ws, {**frame, "from": payload.get("from")})
            if frame.get("type") == "hangup":
                raise RoomRefused(1000, "the other party hung up")
        elif (
            item.kind == "message"
            and payload.get("op") == "new"
            and payload.get("message", {}).get("thread_id") == thread_id
        ):
            await _send(ws, ChatOut.model_validate({"message": payload["message"]}))
