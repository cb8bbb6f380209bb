"""The session room's signalling on SQLite and PostgreSQL: the two parties of a confirmed session
exchange offers, answers, candidates and chat; a third wallet, a bad token, a room outside its
window or not confirmed are refused with their documented close codes; bad frames close the socket
and leave the server unharmed; attendance is recorded; hanging up ends both sides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from chain.tx import anvil_account
from db.booking import bookings
from db.messages import messages
from tests.api import rows
from tests.api.conftest import make_settings
from tests.api.test_messages import KEY1, sign_in

LEARNER, MENTOR, STRANGER = anvil_account(1), anvil_account(2), anvil_account(3)
START = 1_800_000_000
END = START + 3600
BOOKING = "0x" + "b0" * 32
# An SDP with screen share is over 10 KB: larger than a PostgreSQL NOTIFY payload.
BIG_SDP = "v=0\r\n" + "a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host\r\n" * 200


def _confirmed_session(app: FastAPI, booking: str = BOOKING, *, funded: bool = True) -> None:
    with app.state.engine.begin() as conn:
        # An unfunded hold has lapsed (else it would overlap the funded one).
        rows.booking(
            conn, id=booking, learner=LEARNER.address, mentor=MENTOR.address, starts_at=START, active=funded
        )
        if funded:
            rows.engagement(
                conn,
                id=int(booking[2:6], 16),
                client=LEARNER.address,
                provider=MENTOR.address,
                arbiter=STRANGER.address,
                total_amount=10**15,
                accepted=True,
                booking_ref=booking,
                starts_at=START,
            )


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> FastAPI:
    app = create_app(make_settings(tmp_path, database_url, message_keys=KEY1, room_grace_minutes=15))
    app.state.clock = lambda: START - 300  # five minutes before the session: the room is open
    _confirmed_session(app)
    return app


@pytest.fixture
def c(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _join(c: TestClient, account: LocalAccount, booking: str = BOOKING) -> tuple[Any, WebSocketTestSession]:
    ws_cm = c.websocket_connect(f"/rooms/{booking}/ws")
    ws = ws_cm.__enter__()
    ws.send_json({"type": "join", "token": _token(sign_in(c, account))})
    return ws_cm, ws


def _refused(ws: WebSocketTestSession) -> tuple[int, str]:
    """The close code after the server's `closing` frame (which must name the same code)."""
    closing = ws.receive_json()
    assert closing["type"] == "closing", closing
    with pytest.raises(WebSocketDisconnect) as gone:
        ws.receive_json()
    assert gone.value.code == closing["code"]
    return gone.value.code, closing["reason"]


def _next(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    while True:
        frame = ws.receive_json()
        if frame["type"] == kind:
            return dict(frame)


def test_two_parties_signal_chat_and_hang_up(app: FastAPI, c: TestClient) -> None:
    learner_cm, learner = _join(c, LEARNER)
    joined = learner.receive_json()
    assert joined["type"] == "joined" and joined["peer"] == MENTOR.address and joined["peer_present"] is False
    assert joined["polite"] is True and joined["closes_at"] == END + 900
    mentor_cm, mentor = _join(c, MENTOR)
    assert mentor.receive_json()["peer_present"] is True
    assert _next(learner, "peer_joined")["address"] == MENTOR.address

    learner.send_json({"type": "offer", "sdp": BIG_SDP})
    offer = _next(mentor, "offer")
    assert offer["sdp"] == BIG_SDP and offer["from"] == LEARNER.address
    mentor.send_json({"type": "answer", "sdp": "v=0\r\nanswer"})
    assert _next(learner, "answer")["sdp"] == "v=0\r\nanswer"
    for i in range(20):
        candidate = {
            "candidate": f"candidate:{i} 1 udp 1 10.0.0.{i} 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }
        learner.send_json({"type": "candidate", "candidate": candidate})
    got = [_next(mentor, "candidate")["candidate"]["candidate"] for _ in range(20)]
    assert got == [f"candidate:{i} 1 udp 1 10.0.0.{i} 9 typ host" for i in range(20)]  # in order

    mentor.send_json({"type": "chat", "body": "can you see my screen?"})
    for ws in (learner, mentor):
        chat = _next(ws, "chat")["message"]
        assert chat["body"] == "can you see my screen?" and chat["origin"] == "room"
    with app.state.engine.connect() as conn:
        assert conn.execute(select(messages.c.origin)).scalars().all() == ["room"]  # the engagement's thread

    learner.send_json({"type": "ping"})
    assert _next(learner, "pong")["at"] == START - 300

    learner.send_json({"type": "hangup"})
    assert _next(mentor, "hangup")["from"] == LEARNER.address
    assert _refused(mentor)[0] == 1000
    assert _refused(learner)[0] == 1000
    learner_cm.__exit__(None, None, None)
    mentor_cm.__exit__(None, None, None)

    room = c.get(f"/rooms/{BOOKING}", headers=sign_in(c, MENTOR)).json()
    assert room["open_now"] is True and room["engagement_id"] is not None
    assert sorted(a["address"] for a in room["attendance"]) == sorted([LEARNER.address, MENTOR.address])
    assert all(a["left_at"] is not None for a in room["attendance"])


def test_who_and_when_is_refused_with_its_close_code(app: FastAPI, c: TestClient) -> None:
    cm, ws = _join(c, STRANGER)
    assert _refused(ws)[0] == 4403
    cm.__exit__(None, None, None)

    with c.websocket_connect(f"/rooms/{BOOKING}/ws") as ws:
        ws.send_json({"type": "join", "token": "x" * 43})
        code, reason = _refused(ws)
        assert code == 4401 and "expired" in reason
    with c.websocket_connect(f"/rooms/{BOOKING}/ws") as ws:
        ws.send_json({"type": "offer", "sdp": "v=0"})  # not a join first
        assert _refused(ws)[0] == 4401

    cm, ws = _join(c, LEARNER, "0x" + "ee" * 32)
    assert _refused(ws)[0] == 4404
    cm.__exit__(None, None, None)

    app.state.clock = lambda: START - 601  # eleven minutes early
    cm, ws = _join(c, LEARNER)
    code, reason = _refused(ws)
    assert code == 4409 and str(START - 600) in reason
    cm.__exit__(None, None, None)
    app.state.clock = lambda: END + 900  # the grace is over
    cm, ws = _join(c, MENTOR)
    assert _refused(ws) == (4409, f"the room closed at {END + 900}")
    cm.__exit__(None, None, None)

    app.state.clock = lambda: START
    unfunded = "0x" + "c1" * 32
    _confirmed_session(app, unfunded, funded=False)
    cm, ws = _join(c, LEARNER, unfunded)
    code, reason = _refused(ws)
    assert code == 4409 and "not confirmed" in reason
    cm.__exit__(None, None, None)

    assert c.get(f"/rooms/{BOOKING}", headers=sign_in(c, STRANGER)).status_code == 403
    assert c.get(f"/rooms/0x{'ee' * 32}", headers=sign_in(c, LEARNER)).status_code == 404


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", 4400),
        ("[1, 2]", 4400),
        (json.dumps({"type": "dance"}), 4400),
        (json.dumps({"type": "offer"}), 4400),
        (json.dumps({"type": "offer", "sdp": "x", "extra": 1}), 4400),
        (json.dumps({"type": "join", "token": "y" * 40}), 4400),  # joined already
        (json.dumps({"type": "offer", "sdp": "x" * 70_000}), 1009),
        ("[" * 60_000, 4400),  # nested past the parser's recursion limit
        (b"\x00\x01", 4400),
    ],
)
def test_bad_frames_close_with_a_documented_code_and_the_server_is_unharmed(
    c: TestClient, frame: str | bytes, code: int
) -> None:
    cm, ws = _join(c, LEARNER)
    assert ws.receive_json()["type"] == "joined"
    if isinstance(frame, bytes):
        ws.send_bytes(frame)
    else:
        ws.send_text(frame)
    assert _refused(ws)[0] == code
    cm.__exit__(None, None, None)
    assert c.get("/health").status_code == 200
    cm, ws = _join(c, LEARNER)  # and the room still works
    assert ws.receive_json()["type"] == "joined"
    cm.__exit__(None, None, None)


def test_joining_from_a_second_tab_closes_the_first(app: FastAPI, c: TestClient) -> None:
    first_cm, first = _join(c, MENTOR)
    assert first.receive_json()["type"] == "joined"
    second_cm, second = _join(c, MENTOR)
    assert second.receive_json()["type"] == "joined"
    assert _refused(first)[0] == 4410
    first_cm.__exit__(None, None, None)
    learner_cm, learner = _join(c, LEARNER)
    assert learner.receive_json()["peer_present"] is True  # the second tab is still there
    second_cm.__exit__(None, None, None)
    learner_cm.__exit__(None, None, None)


def test_the_room_closes_when_its_window_ends(app: FastAPI, c: TestClient) -> None:
    cm, ws = _join(c, LEARNER)
    assert ws.receive_json()["type"] == "joined"
    app.state.clock = lambda: END + 900
    app.state.hub.tick_now()  # the hub's periodic tick, now rather than in 15 s
    assert _refused(ws) == (4000, f"the room closed at {END + 900}")
    cm.__exit__(None, None, None)
    with app.state.engine.begin() as conn:  # and nobody is left marked present
        conn.execute(update(bookings).values(active=False))
    room = c.get(f"/rooms/{BOOKING}", headers=sign_in(c, LEARNER)).json()
    assert room["open_now"] is False and all(a["left_at"] for a in room["attendance"])
