"""In-app notifications end to end (real chain, real indexer): each step notifies the party it
concerns — never the one who acted — with read state, and arrives on their live stream; a reorg
takes back the notifications of the blocks it removed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack
from tests.api.stream_client import Listener
from tests.net import serve_in_thread

LEARNER, MENTOR, ARBITER = anvil_account(1), anvil_account(2), anvil_account(9)


@pytest.fixture(scope="module")
def base(stack: Stack) -> Iterator[str]:
    url, server, thread = serve_in_thread(stack.client.app)
    yield url
    server.should_exit = True
    thread.join(timeout=5)


def _step(stack: Stack, account: object, tx: dict[str, object]) -> None:
    stack.send(account, tx)  # type: ignore[arg-type]
    stack.index()


def _kinds(stack: Stack, headers: dict[str, str], eid: int) -> list[str]:
    rows = stack.client.get("/me/notifications", headers=headers, params={"limit": 100}).json()["data"]
    return [n["kind"] for n in reversed(rows) if n["engagement_id"] == eid]


def test_each_step_notifies_the_party_it_concerns_with_read_state(stack: Stack, base: str) -> None:
    c = stack.client
    learner, mentor, arbiter = (stack.sign_in(a) for a in (LEARNER, MENTOR, ARBITER))
    mentor_stream = Listener(base, mentor).start()
    due = int(time.time()) + 60
    prepared = c.post(
        "/engagements/prepare",
        headers=learner,
        json={
            "provider": MENTOR.address,
            "title": "Notified",
            "skill": "solidity",
            "milestones": [
                {"title": "A", "amount": str(10**15), "due_date": due},
                {"title": "B", "amount": str(10**15), "due_date": due},
            ],
        },
    ).json()
    _step(stack, LEARNER, prepared["tx"])
    mentor_stream.wait(lambda: any(r.event == "notification" for r in mentor_stream.items), "a notification")
    live = next(r for r in mentor_stream.items if r.event == "notification").data
    eid = live["engagement_id"]
    assert live["kind"] == "request_received" and live["id"] > 0
    _step(stack, MENTOR, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    submit = c.post(f"/engagements/{eid}/milestones/0/submit", headers=mentor, json={"summary": "done"})
    _step(stack, MENTOR, submit.json()["tx"])
    _step(stack, LEARNER, c.post(f"/engagements/{eid}/milestones/0/approve", headers=learner).json())
    stack.warp(120)
    dispute = c.post(f"/engagements/{eid}/dispute", headers=learner, json={"statement": "B never came"})
    _step(stack, LEARNER, dispute.json()["tx"])
    resolve = c.post(f"/engagements/{eid}/resolve", headers=arbiter, json={"provider_share_bps": 5000})
    _step(stack, ARBITER, resolve.json())

    assert _kinds(stack, mentor, eid) == [
        "request_received",
        "milestone_released",
        "dispute_raised",
        "dispute_resolved",
    ]
    assert _kinds(stack, learner, eid) == ["request_accepted", "milestone_submitted", "dispute_resolved"]
    assert _kinds(stack, arbiter, eid) == ["dispute_raised"]
    mine = c.get("/me/notifications", headers=learner).json()
    assert mine["unread"] >= 3 and not any(n["read"] for n in mine["data"])
    newest = mine["data"][0]["id"]
    read = c.post("/me/notifications/read", headers=learner, json={"up_to": newest})
    assert read.status_code == 200 and read.json() == {"unread": 0}
    assert all(n["read"] for n in c.get("/me/notifications", headers=learner).json()["data"])
    unread_only = c.get("/me/notifications", headers=mentor, params={"unread_only": True}).json()
    assert unread_only["unread"] == len(unread_only["data"]) >= 4
    assert c.get("/me/notifications").status_code == 401
    mentor_stream.close()


def test_a_reorg_takes_back_its_notifications(stack: Stack, base: str) -> None:
    c = stack.client
    learner, mentor = stack.sign_in(LEARNER), stack.sign_in(MENTOR)
    before = c.get("/me/notifications", headers=mentor).json()["data"]
    snapshot = stack.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    prepared = c.post(
        "/engagements/prepare",
        headers=learner,
        json={
            "provider": MENTOR.address,
            "title": "Orphaned",
            "skill": "python",
            "milestones": [{"title": "m", "amount": "777", "due_date": int(time.time()) + 86400}],
        },
    ).json()
    _step(stack, LEARNER, prepared["tx"])
    assert len(c.get("/me/notifications", headers=mentor).json()["data"]) == len(before) + 1
    stack.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    for _ in range(3):
        stack.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    stack.index()
    assert c.get("/me/notifications", headers=mentor).json()["data"] == before
