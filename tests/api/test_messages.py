"""Messages on SQLite and PostgreSQL: inquiries and engagement threads, live delivery on the other
party's stream, unread counts and read receipts, edit window and delete, blocks, reports, encryption
at rest with key rotation, export and erasure, and refusals in words."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from api.app import create_app
from api.messages.sealing import SealingError
from api.messages.service import rekey
from chain.tx import anvil_account
from db.messages import attachments, messages, shared_evidence
from db.outbox import outbox
from db.room import room_attendance
from tests.api import rows
from tests.api.conftest import make_settings
from tests.api.siwe_helpers import make_message
from tests.api.stream_client import Listener
from tests.net import serving

LEARNER, MENTOR, STRANGER = anvil_account(1), anvil_account(2), anvil_account(3)
T = 1_800_000_000
KEY1 = "k1:" + base64.b64encode(b"1" * 32).decode()
KEY2 = "k2:" + base64.b64encode(b"2" * 32).decode()
SECRET = "meet me at the blue door, 42 Rue Example"


def sign_in(client: TestClient, account: LocalAccount) -> dict[str, str]:
    nonce = client.get("/auth/nonce").json()["nonce"]
    message, signature = make_message(nonce, key=account.key.hex())
    response = client.post("/auth/verify", json={"message": message, "signature": signature})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _app(tmp_path: Path, database_url: str, **overrides: object) -> FastAPI:
    app = create_app(make_settings(tmp_path, database_url, **({"message_keys": KEY1} | overrides)))
    app.state.clock = lambda: T
    return app


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> FastAPI:
    return _app(tmp_path, database_url, admins=[STRANGER.address])


@pytest.fixture
def c(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _listing(c: TestClient, owner: dict[str, str]) -> int:
    created = c.post(
        "/listings",
        headers=owner,
        json={
            "kind": "offer",
            "skill": "react",
            "title": "React hooks, properly",
            "description": "Pair on your components",
            "price": "40",
            "languages": ["en"],
        },
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _inquire(c: TestClient, learner: dict[str, str], listing: int, text: str = "Hello!") -> dict[str, object]:
    response = c.post(f"/listings/{listing}/inquiries", headers=learner, json={"body": text})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_an_inquiry_reaches_the_mentor_live_and_the_read_receipt_reaches_the_learner(app: FastAPI) -> None:
    with TestClient(app) as c, serving(app) as base:
        learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
        listing = _listing(c, mentor)
        mentor_stream = Listener(base, mentor).start()
        learner_stream = Listener(base, learner).start()
        try:
            created = _inquire(c, learner, listing, "Could we start with useEffect?")
            thread = created["thread"]["id"]  # type: ignore[index]
            mentor_stream.wait(lambda: any(r.event == "message" for r in mentor_stream.items), "the message")
            live = next(r for r in mentor_stream.items if r.event == "message").data
            assert live["op"] == "new" and live["message"]["body"] == "Could we start with useEffect?"
            assert live["message"]["sender"] == LEARNER.address and live["message"]["thread_id"] == thread

            threads = c.get("/threads", headers=mentor).json()["data"]
            assert [(t["id"], t["unread"], t["other"], t["listing_title"]) for t in threads] == [
                (thread, 1, LEARNER.address, "React hooks, properly")
            ]
            assert c.get("/me/unread", headers=mentor).json() == {"threads": 1, "messages": 1}
            assert c.get("/threads", headers=learner).json()["data"][0]["unread"] == 0  # their own

            read = c.post(f"/threads/{thread}/read", headers=mentor, json={})
            assert read.status_code == 200 and read.json()["unread"] == 0
            message_id = created["message"]["id"]  # type: ignore[index]
            assert read.json()["read_up_to"][MENTOR.address] == message_id
            learner_stream.wait(
                lambda: any(r.data.get("op") == "read" for r in learner_stream.items), "the read receipt"
            )
            assert c.get("/me/unread", headers=mentor).json() == {"threads": 0, "messages": 0}

            # Typing reaches the other party only.
            assert c.post(f"/threads/{thread}/typing", headers=learner).status_code == 204
            mentor_stream.wait(lambda: any(r.event == "typing" for r in mentor_stream.items), "typing")
            assert not any(r.event == "typing" for r in learner_stream.items)
        finally:
            mentor_stream.close()
            learner_stream.close()


def test_unread_counts_are_per_thread_with_several_threads_read(c: TestClient) -> None:
    learner, mentor, other = sign_in(c, LEARNER), sign_in(c, MENTOR), sign_in(c, STRANGER)
    first = _inquire(c, learner, _listing(c, mentor), "one")["thread"]["id"]  # type: ignore[index]
    second = _inquire(c, learner, _listing(c, other), "two")["thread"]["id"]  # type: ignore[index]
    c.post(f"/threads/{first}/messages", headers=mentor, json={"body": "a"})
    c.post(f"/threads/{first}/messages", headers=mentor, json={"body": "b"})
    c.post(f"/threads/{second}/messages", headers=other, json={"body": "c"})
    c.post(f"/threads/{second}/read", headers=learner, json={})
    unread = {t["id"]: t["unread"] for t in c.get("/threads", headers=learner).json()["data"]}
    assert unread == {first: 2, second: 0}
    assert c.get("/me/unread", headers=learner).json() == {"threads": 1, "messages": 2}


def test_a_user_offline_finds_the_messages_on_return(c: TestClient) -> None:
    learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
    listing = _listing(c, mentor)
    thread = _inquire(c, learner, listing, "first")["thread"]["id"]  # type: ignore[index]
    for text in ("second", "third"):
        assert c.post(f"/threads/{thread}/messages", headers=learner, json={"body": text}).status_code == 201
    reply = c.post(f"/threads/{thread}/messages", headers=mentor, json={"body": "welcome"})
    assert reply.status_code == 201
    first = c.get(f"/threads/{thread}/messages", headers=mentor, params={"limit": 2}).json()
    assert [m["body"] for m in first["data"]] == ["welcome", "third"] and first["next_cursor"]
    rest = c.get(
        f"/threads/{thread}/messages", headers=mentor, params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [m["body"] for m in rest["data"]] == ["second", "first"] and rest["next_cursor"] is None
    # The inquiry thread is one per learner and listing: a second inquiry goes to the same thread.
    again = _inquire(c, learner, listing, "fourth")
    assert again["thread"]["id"] == thread  # type: ignore[index]
    # Replying marked what came before as read: one new message since.
    assert c.get("/threads/" + str(thread), headers=mentor).json()["unread"] == 1


def test_bodies_are_ciphertext_at_rest_and_old_keys_keep_opening_after_rotation(
    tmp_path: Path, database_url: str
) -> None:
    first = _app(tmp_path, database_url)
    with TestClient(first) as c:
        learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
        thread = _inquire(c, learner, _listing(c, mentor), SECRET)["thread"]["id"]  # type: ignore[index]
    with first.state.engine.connect() as conn:
        stored = conn.execute(select(messages.c.key_id, messages.c.body)).one()
        payloads = [p for (p,) in conn.execute(select(outbox.c.payload))]
    assert stored.key_id == "k1"
    assert SECRET.encode() not in bytes(stored.body) and b"blue door" not in bytes(stored.body)
    assert payloads and not any("blue door" in p for p in payloads)  # the stream's copy is sealed too

    rotated = _app(tmp_path, database_url, message_keys=f"{KEY2},{KEY1}")
    with TestClient(rotated) as c:
        learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
        sent = c.post(f"/threads/{thread}/messages", headers=mentor, json={"body": "new key"}).json()
        bodies = [m["body"] for m in c.get(f"/threads/{thread}/messages", headers=learner).json()["data"]]
        assert bodies == ["new key", SECRET]
    with rotated.state.engine.connect() as conn:
        assert conn.execute(select(messages.c.key_id).where(messages.c.id == sent["id"])).scalar() == "k2"

    # A row moved into another context does not open (the thread and sender are bound to it).
    sealer = rotated.state.sealer
    with pytest.raises(SealingError, match="does not open"):
        sealer.open("k1", bytes(stored.body), b"skillchain-message:999:" + LEARNER.address.encode())

    # Re-sealing moves the old rows to the new key; then the old key can go.
    with rotated.state.engine.begin() as conn:
        assert rekey(conn, sealer) == 1 and rekey(conn, sealer) == 0
    only_new = _app(tmp_path, database_url, message_keys=KEY2)
    with TestClient(only_new) as c:
        learner = sign_in(c, LEARNER)
        bodies = [m["body"] for m in c.get(f"/threads/{thread}/messages", headers=learner).json()["data"]]
        assert bodies == ["new key", SECRET]


def test_blocking_stops_inquiries_and_messages_from_that_wallet(c: TestClient) -> None:
    learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
    listing = _listing(c, mentor)
    thread = _inquire(c, learner, listing)["thread"]["id"]  # type: ignore[index]
    blocked = c.put(f"/me/blocks/{LEARNER.address}", headers=mentor)
    assert blocked.status_code == 200 and blocked.json()["created_at"] == T
    refused = c.post(f"/threads/{thread}/messages", headers=learner, json={"body": "still there?"})
    assert refused.status_code == 403 and "does not accept messages from you" in refused.json()["detail"]
    again = c.post(f"/listings/{listing}/inquiries", headers=learner, json={"body": "hello?"})
    assert again.status_code == 403
    own = c.post(f"/threads/{thread}/messages", headers=mentor, json={"body": "bye"})
    assert own.status_code == 403 and "unblock" in own.json()["detail"]
    assert c.get(f"/threads/{thread}", headers=mentor).json()["blocked"] == "by_you"
    assert c.get(f"/threads/{thread}", headers=learner).json()["blocked"] == "by_them"
    assert [b["address"] for b in c.get("/me/blocks", headers=mentor).json()["data"]] == [LEARNER.address]
    last = c.get(f"/threads/{thread}/messages", headers=learner).json()["data"][0]["id"]
    edit = c.patch(f"/threads/{thread}/messages/{last}", headers=learner, json={"body": "rewritten"})
    assert edit.status_code == 403  # a blocked wallet cannot rewrite what the blocker reads either
    assert c.delete(f"/me/blocks/{LEARNER.address}", headers=mentor).status_code == 204
    assert c.post(f"/threads/{thread}/messages", headers=learner, json={"body": "ok"}).status_code == 201
    assert c.put(f"/me/blocks/{MENTOR.address}", headers=mentor).status_code == 409  # yourself


def test_a_non_party_gets_403_on_every_thread_route_and_unknown_ones_404(c: TestClient) -> None:
    learner, mentor, stranger = sign_in(c, LEARNER), sign_in(c, MENTOR), sign_in(c, STRANGER)
    created = _inquire(c, learner, _listing(c, mentor))
    thread, message = created["thread"]["id"], created["message"]["id"]  # type: ignore[index]
    calls = [
        ("GET", f"/threads/{thread}", None),
        ("GET", f"/threads/{thread}/messages", None),
        ("POST", f"/threads/{thread}/messages", {"body": "hi"}),
        ("PATCH", f"/threads/{thread}/messages/{message}", {"body": "x"}),
        ("DELETE", f"/threads/{thread}/messages/{message}", None),
        ("POST", f"/threads/{thread}/read", {}),
        ("POST", f"/threads/{thread}/typing", None),
        ("POST", f"/threads/{thread}/messages/{message}/report", {"reason": "spam"}),
    ]
    for method, path, body in calls:
        response = c.request(method, path, headers=stranger, json=body)
        assert response.status_code == 403, (method, path, response.text)
        missing = c.request(
            method, path.replace(f"/threads/{thread}", "/threads/99999"), headers=learner, json=body
        )
        assert missing.status_code == 404, (method, path, missing.text)
    assert c.get("/threads", headers=stranger).json()["data"] == []
    assert c.get(f"/threads/{thread}/messages").status_code == 401


def test_edit_within_the_window_then_refused_and_delete_leaves_a_tombstone(
    app: FastAPI, c: TestClient
) -> None:
    learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
    created = _inquire(c, learner, _listing(c, mentor), "helo")
    thread, mid = created["thread"]["id"], created["message"]["id"]  # type: ignore[index]
    assert created["message"]["editable_until"] == T + 600  # type: ignore[index]
    app.state.clock = lambda: T + 599
    edited = c.patch(f"/threads/{thread}/messages/{mid}", headers=learner, json={"body": "hello"})
    assert (
        edited.status_code == 200
        and edited.json()["body"] == "hello"
        and edited.json()["edited_at"] == T + 599
    )
    assert c.patch(f"/threads/{thread}/messages/{mid}", headers=mentor, json={"body": "x"}).status_code == 403
    app.state.clock = lambda: T + 601
    late = c.patch(f"/threads/{thread}/messages/{mid}", headers=learner, json={"body": "hello!"})
    assert late.status_code == 409 and "10 minutes" in late.json()["detail"]
    assert c.delete(f"/threads/{thread}/messages/{mid}", headers=mentor).status_code == 403
    gone = c.delete(f"/threads/{thread}/messages/{mid}", headers=learner)
    assert gone.status_code == 200 and gone.json()["body"] is None and gone.json()["deleted"] == "author"
    listed = c.get(f"/threads/{thread}/messages", headers=mentor).json()["data"]
    assert [(m["id"], m["body"], m["deleted"]) for m in listed] == [(mid, None, "author")]
    assert c.get(f"/threads/{thread}", headers=mentor).json()["unread"] == 0  # a deleted one is not unread


def test_bad_input_is_refused_in_words(c: TestClient) -> None:
    learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
    listing = _listing(c, mentor)
    thread = _inquire(c, learner, listing)["thread"]["id"]  # type: ignore[index]
    for body in ("", "   \n "):
        empty = c.post(f"/threads/{thread}/messages", headers=learner, json={"body": body})
        assert empty.status_code == 422 and "body" in empty.json()["detail"]
    huge = c.post(f"/threads/{thread}/messages", headers=learner, json={"body": "x" * 100_000})
    assert huge.status_code == 422 and "10000" in huge.json()["detail"]
    oversize = c.post(
        f"/threads/{thread}/messages",
        headers={**learner, "Content-Type": "application/json"},
        content=b"{" * 2_000_000,
    )
    assert oversize.status_code == 413
    assert c.post(f"/threads/{thread}/messages", headers=learner, json={"text": "hi"}).status_code == 422
    assert c.get("/threads/abc", headers=learner).status_code == 422
    assert c.get(f"/threads/{2**63}", headers=learner).status_code == 422
    own = c.post(f"/listings/{listing}/inquiries", headers=mentor, json={"body": "me?"})
    assert own.status_code == 409 and "your own listing" in own.json()["detail"]
    assert c.post("/listings/424242/inquiries", headers=learner, json={"body": "hi"}).status_code == 404
    bad_read = c.post(f"/threads/{thread}/read", headers=mentor, json={"up_to": 99999})
    assert bad_read.status_code == 404


def test_rate_limit_per_sender(tmp_path: Path, database_url: str) -> None:
    with TestClient(_app(tmp_path, database_url, message_rate_limit=3)) as c:
        learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
        thread = _inquire(c, learner, _listing(c, mentor))["thread"]["id"]  # type: ignore[index]
        codes = [
            c.post(f"/threads/{thread}/messages", headers=learner, json={"body": str(i)}).status_code
            for i in range(3)
        ]
        assert codes == [201, 201, 429]
        assert c.post(f"/threads/{thread}/messages", headers=mentor, json={"body": "me"}).status_code == 201


def test_engagement_thread_is_for_its_client_and_provider(app: FastAPI, c: TestClient) -> None:
    with app.state.engine.begin() as conn:
        rows.engagement(conn, id=7, client=LEARNER.address, provider=MENTOR.address, arbiter=STRANGER.address)
    learner, mentor, stranger = sign_in(c, LEARNER), sign_in(c, MENTOR), sign_in(c, STRANGER)
    mine = c.post("/engagements/7/thread", headers=learner)
    theirs = c.post("/engagements/7/thread", headers=mentor)
    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["id"] == theirs.json()["id"] and mine.json()["parties"] == [
        LEARNER.address,
        MENTOR.address,
    ]
    assert mine.json()["kind"] == "engagement" and mine.json()["engagement_id"] == 7
    assert c.post("/engagements/7/thread", headers=stranger).status_code == 403  # the arbiter too
    assert c.post("/engagements/8/thread", headers=learner).status_code == 404


def _engagement_row(app: FastAPI, eid: int, status: str) -> None:
    with app.state.engine.begin() as conn:
        rows.engagement(
            conn,
            id=eid,
            client=LEARNER.address,
            provider=MENTOR.address,
            arbiter=STRANGER.address,
            status=status,
        )


def test_in_a_dispute_a_party_shares_chosen_messages_and_the_arbiter_sees_only_those(
    app: FastAPI, c: TestClient
) -> None:
    _engagement_row(app, 21, "disputed")
    _engagement_row(app, 22, "active")
    learner, mentor, arbiter = sign_in(c, LEARNER), sign_in(c, MENTOR), sign_in(c, STRANGER)
    inquiry = _inquire(c, learner, _listing(c, mentor), "Will you review my whole repo?")
    thread = c.post("/engagements/21/thread", headers=learner).json()["id"]
    promise = c.post(
        f"/threads/{thread}/messages", headers=mentor, json={"body": "Yes, the whole repo."}
    ).json()
    private = c.post(
        f"/threads/{thread}/messages", headers=learner, json={"body": "not for the arbiter"}
    ).json()
    chosen = [inquiry["message"]["id"], promise["id"]]  # type: ignore[index]

    shared = c.post(
        "/engagements/21/shared-evidence", headers=learner, json={"message_ids": chosen, "attendance": True}
    )
    assert shared.status_code == 201 and shared.json() == {"added": 3}
    again = c.post("/engagements/21/shared-evidence", headers=learner, json={"message_ids": chosen})
    assert again.json() == {"added": 0}  # shared once
    # The author deleting the message later does not change what the arbiter was shown.
    assert c.delete(f"/threads/{thread}/messages/{promise['id']}", headers=mentor).status_code == 200

    seen = c.get("/engagements/21/shared-evidence", headers=arbiter).json()["data"]
    assert [(e["kind"], e["body"], e["shared_by"], e["shared_at"]) for e in seen] == [
        ("message", "Will you review my whole repo?", LEARNER.address, T),
        ("message", "Yes, the whole repo.", LEARNER.address, T),
        ("attendance", None, LEARNER.address, T),
    ]
    assert all("not for the arbiter" != e["body"] for e in seen)
    assert c.get(f"/threads/{thread}/messages", headers=arbiter).status_code == 403  # nothing else
    assert c.get("/engagements/21/shared-evidence", headers=mentor).status_code == 200  # the parties see it

    # Attendance is shared once, however long it is (every reconnect adds a row).
    with app.state.engine.begin() as conn:
        rows.booking(
            conn,
            id="0x" + "a1" * 32,
            learner=LEARNER.address,
            mentor=MENTOR.address,
            starts_at=T,
            mode="request",
            active=False,
            amount=1,
            terms_digest="0x" + f"{21:064x}",
        )
        for i in range(40):
            conn.execute(
                insert(room_attendance).values(
                    booking_id="0x" + "a1" * 32, address=LEARNER.address, joined_at=T + i, left_at=T + i + 1
                )
            )
    c.post("/engagements/21/shared-evidence", headers=mentor, json={"attendance": True})
    twice = c.post("/engagements/21/shared-evidence", headers=mentor, json={"attendance": True})
    assert twice.json() == {"added": 0}
    listed = c.get("/engagements/21/shared-evidence", headers=arbiter)
    assert listed.status_code == 200
    assert [len(e["attendance"]) for e in listed.json()["data"] if e["kind"] == "attendance"] == [0, 40]

    refused = c.post(
        "/engagements/22/shared-evidence", headers=learner, json={"message_ids": [private["id"]]}
    )
    assert refused.status_code == 409 and "in a dispute" in refused.json()["detail"]
    assert (
        c.post("/engagements/21/shared-evidence", headers=arbiter, json={"attendance": True}).status_code
        == 403
    )
    assert (
        c.post("/engagements/21/shared-evidence", headers=learner, json={"message_ids": [99999]}).status_code
        == 404
    )
    assert c.post("/engagements/21/shared-evidence", headers=learner, json={}).status_code == 422
    assert c.get("/engagements/23/shared-evidence", headers=arbiter).status_code == 404


def test_reports_reach_the_operators_with_the_message_only(c: TestClient) -> None:
    learner, mentor, admin = sign_in(c, LEARNER), sign_in(c, MENTOR), sign_in(c, STRANGER)
    created = _inquire(c, learner, _listing(c, mentor), "pay me on another site")
    thread, mid = created["thread"]["id"], created["message"]["id"]  # type: ignore[index]
    c.post(f"/threads/{thread}/messages", headers=learner, json={"body": "not reported"})
    assert (
        c.post(f"/threads/{thread}/messages/{mid}/report", headers=learner, json={"reason": "x"}).status_code
        == 409
    )
    reported = c.post(
        f"/threads/{thread}/messages/{mid}/report", headers=mentor, json={"reason": "off-platform"}
    )
    assert reported.status_code == 201 and reported.json()["reporter"] == MENTOR.address
    twice = c.post(f"/threads/{thread}/messages/{mid}/report", headers=mentor, json={"reason": "again"})
    assert twice.status_code == 409
    assert c.get("/admin/message-reports", headers=mentor).status_code == 403
    seen = c.get("/admin/message-reports", headers=admin).json()["data"]
    assert [(r["message_id"], r["body"], r["reason"], r["sender"]) for r in seen] == [
        (mid, "pay me on another site", "off-platform", LEARNER.address)
    ]


def test_export_has_readable_messages_and_erasure_removes_what_you_wrote_only(c: TestClient) -> None:
    learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
    thread = _inquire(c, learner, _listing(c, mentor), "from the learner")["thread"]["id"]  # type: ignore[index]
    c.post(f"/threads/{thread}/messages", headers=mentor, json={"body": "from the mentor"})
    c.put(f"/me/blocks/{STRANGER.address}", headers=learner)
    exported = c.get("/me/export", headers=learner).json()
    assert [(m["sender"], m["body"]) for m in exported["messages"]] == [
        (LEARNER.address, "from the learner"),
        (MENTOR.address, "from the mentor"),
    ]
    assert all("body" not in row for row in exported["tables"]["messages"])  # no ciphertext dump
    assert [b["blocked"] for b in exported["tables"]["blocks"]] == [STRANGER.address]

    erased = c.delete("/me", headers=learner)
    assert erased.status_code == 200 and erased.json()["erased"]["messages"] == 1
    assert "message_threads" in erased.json()["kept"]
    # The mentor keeps the thread and their own words; the learner's are gone (a tombstone says so).
    listed = c.get(f"/threads/{thread}/messages", headers=mentor).json()["data"]
    assert [(m["sender"], m["body"], m["deleted"]) for m in listed] == [
        (MENTOR.address, "from the mentor", None),
        (LEARNER.address, None, "erasure"),
    ]
    again = sign_in(c, LEARNER)
    assert c.get("/me/blocks", headers=again).json()["data"] == []


def _png(width: int = 2, height: int = 2, pad: int = 0) -> bytes:
    """A real PNG (signature, IHDR, IDAT, IEND with their CRCs), `pad` bytes of text chunk to grow it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    text = chunk(b"tEXt", b"c\x00" + b"x" * pad) if pad else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + text
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56  # the start of a Linux executable


def test_attachments_are_sniffed_encrypted_served_to_the_parties_only(app: FastAPI, c: TestClient) -> None:
    learner, mentor, stranger = sign_in(c, LEARNER), sign_in(c, MENTOR), sign_in(c, STRANGER)
    thread = _inquire(c, learner, _listing(c, mentor))["thread"]["id"]  # type: ignore[index]
    image = _png()
    sent = c.post(
        f"/threads/{thread}/attachments",
        headers=learner,
        files={"file": ("../../my whiteboard.jpg", image, "image/jpeg")},  # the name and type lie
        data={"body": "my sketch"},
    )
    assert sent.status_code == 201, sent.text
    file = sent.json()["attachments"][0]
    assert (file["media_type"], file["filename"], file["size"]) == (
        "image/png",
        "my whiteboard.png",
        len(image),
    )
    assert sent.json()["body"] == "my sketch"

    got = c.get(file["url"], headers=mentor)
    assert got.status_code == 200 and got.content == image
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''my%20whiteboard.png"
    assert "sandbox" in got.headers["content-security-policy"]
    assert c.get(file["url"], headers=stranger).status_code == 403
    assert c.get(f"/threads/{thread}/attachments/99999", headers=mentor).status_code == 404
    listed = c.get(f"/threads/{thread}/messages", headers=mentor).json()["data"][0]
    assert listed["attachments"] == [file]

    with app.state.engine.connect() as conn:
        row = conn.execute(select(attachments.c.name, attachments.c.content)).one()
    assert image not in bytes(row.content) and b"whiteboard" not in bytes(row.name)

    exported = c.get("/me/export", headers=mentor).json()["attachments"]
    assert [(a["filename"], base64.b64decode(a["content_base64"])) for a in exported] == [
        ("my whiteboard.png", image)
    ]

    # Deleting the message deletes its file.
    mid = sent.json()["id"]
    assert c.delete(f"/threads/{thread}/messages/{mid}", headers=learner).status_code == 200
    assert c.get(file["url"], headers=mentor).status_code == 404


def test_an_executable_renamed_png_and_oversize_files_are_refused_and_nothing_is_stored(
    tmp_path: Path, database_url: str
) -> None:
    app = _app(tmp_path, database_url, message_attachment_bytes=4096)
    with TestClient(app) as c:
        learner, mentor = sign_in(c, LEARNER), sign_in(c, MENTOR)
        thread = _inquire(c, learner, _listing(c, mentor))["thread"]["id"]  # type: ignore[index]
        url = f"/threads/{thread}/attachments"
        disguised = c.post(url, headers=learner, files={"file": ("cat.png", ELF, "image/png")})
        assert disguised.status_code == 415 and "whatever its name says" in disguised.json()["detail"]
        big = c.post(url, headers=learner, files={"file": ("big.png", _png(pad=5000), "image/png")})
        assert big.status_code == 413 and "4,096 bytes" in big.json()["detail"]
        huge = c.post(url, headers=learner, files={"file": ("huge.png", _png(pad=200_000), "image/png")})
        assert huge.status_code == 413  # refused by the size guard before the form is parsed
        assert (
            c.post(url, headers=learner, files={"file": ("empty.png", b"", "image/png")}).status_code == 422
        )
        assert c.post(url, headers=learner, data={"body": "no file"}).status_code == 422
        stranger = c.post(url, files={"file": ("big.png", _png(pad=200_000), "image/png")})
        assert stranger.status_code == 401  # not even buffered without a session
        fine = c.post(
            url, headers=learner, files={"file": ("ok.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n", "x/y")}
        )
        assert fine.status_code == 201 and fine.json()["attachments"][0]["media_type"] == "application/pdf"
    with app.state.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(attachments)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 2  # inquiry + the PDF


def test_a_file_shared_as_evidence_is_copied_sealed_and_served_to_the_arbiter_only(
    app: FastAPI, c: TestClient
) -> None:
    """A party shares a message with a file: the arbiter downloads the file as it was, even after the
    message is deleted; the stored copy is ciphertext; no one outside the dispute gets it."""
    _engagement_row(app, 31, "disputed")
    learner, mentor, arbiter = sign_in(c, LEARNER), sign_in(c, MENTOR), sign_in(c, STRANGER)
    thread = c.post("/engagements/31/thread", headers=learner).json()["id"]
    image = _png(pad=100)
    sent = c.post(
        f"/threads/{thread}/attachments",
        headers=learner,
        files={"file": ("broken build.png", image, "image/png")},
        data={"body": "the failing test"},
    )
    assert sent.status_code == 201, sent.text
    mid = sent.json()["id"]
    shared = c.post("/engagements/31/shared-evidence", headers=learner, json={"message_ids": [mid]})
    assert shared.status_code == 201 and shared.json() == {"added": 1}
    assert c.delete(f"/threads/{thread}/messages/{mid}", headers=learner).status_code == 200
    [item] = c.get("/engagements/31/shared-evidence", headers=arbiter).json()["data"]
    assert item["body"] == "the failing test"
    assert item["file"] == {"name": "broken build.png", "media_type": "image/png", "size": len(image)}
    got = c.get(f"/engagements/31/shared-evidence/{item['id']}/file", headers=arbiter)
    assert got.status_code == 200 and got.content == image and got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert c.get(f"/engagements/31/shared-evidence/{item['id']}/file", headers=mentor).status_code == 200
    outsider = sign_in(c, anvil_account(8))
    assert c.get(f"/engagements/31/shared-evidence/{item['id']}/file", headers=outsider).status_code == 403
    assert c.get("/engagements/31/shared-evidence/999999/file", headers=arbiter).status_code == 404
    with app.state.engine.connect() as conn:
        stored = conn.execute(select(shared_evidence.c.file, shared_evidence.c.file_name)).all()
    assert stored and all(
        image not in bytes(r.file) and b"broken build" not in bytes(r.file_name) for r in stored
    )
