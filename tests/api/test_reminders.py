""" "Your session starts within the hour": both parties of a confirmed booking are reminded once, by
the app's clock (moved, not waited for); an unconfirmed booking in the window is not."""

from __future__ import annotations

import time

from sqlalchemy import insert

from chain.artifacts import load_artifact
from chain.tx import anvil_account
from db.booking import bookings
from db.engine import make_engine
from tests.api.booking_flow import DAY, EVERY_DAY, HOUR, accepted_request, next_hour, session_listing
from tests.api.conftest_chain import Stack

MENTOR, LEARNER, OTHER = anvil_account(3), anvil_account(4), anvil_account(5)


def _kinds(stack: Stack, headers: dict[str, str]) -> list[tuple[str, int | None]]:
    data = stack.client.get("/me/notifications", headers=headers).json()["data"]
    return [(n["kind"], n["engagement_id"]) for n in data if n["kind"] == "session_starting"]


def test_both_parties_of_a_confirmed_session_are_reminded_once_within_the_hour(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    start = next_hour(days=2)
    flow = accepted_request(stack, c, MENTOR, LEARNER, start)
    mentor, learner, other = flow.mentor, flow.learner, stack.sign_in(OTHER)
    listing, eid = flow.listing, flow.engagement
    # Another learner holds the next hour without paying: nothing to remind of.
    held = c.post("/bookings", headers=other, json={"listing_id": listing, "starts_at": start + 2 * HOUR})
    assert held.status_code == 201, held.text
    reminders = c.app.state.reminders  # type: ignore[attr-defined]
    # And 250 holds of other mentors that start earlier within the hour (more than a pass reads):
    # they never crowd the confirmed session out.
    engine = make_engine(stack.settings.effective_database_url)
    with engine.begin() as conn:
        conn.execute(
            insert(bookings),
            [
                {
                    "id": f"0x{n:064x}",
                    "listing_id": listing,
                    "mentor": f"0x{n:040x}",
                    "learner": OTHER.address,
                    "starts_at": start - 20 * 60,
                    "ends_at": start + 40 * 60,
                    "block_start": start - 20 * 60,
                    "block_end": start + 40 * 60,
                    "local_day": "2026-01-01",
                    "mode": "request",
                    "status": "held",
                    "active": True,
                    "hold_expires_at": start + DAY,
                    "token": "0x" + "0" * 40,
                    "amount": 1,
                    "due_date": start + DAY,
                    "terms_digest": f"0x{n:064x}",
                    "created_at": int(time.time()),
                }
                for n in range(1, 251)
            ],
        )
    engine.dispose()

    clock[0] = start - 2 * HOUR  # not yet within the hour
    assert reminders.run_once() == 0
    clock[0] = start - 30 * 60
    assert reminders.run_once() == 2
    assert _kinds(stack, learner) == [("session_starting", eid)]
    assert _kinds(stack, mentor) == [("session_starting", eid)]
    assert reminders.run_once() == 0  # once
    clock[0] = start + HOUR + 30 * 60  # the held booking's hour is near: it was never confirmed
    assert reminders.run_once() == 0
    assert _kinds(stack, other) == []


def test_an_unanswered_request_reminds_its_mentor_then_frees_its_slot(
    stack: Stack, clock: list[float]
) -> None:
    """A paid request the mentor leaves unanswered: reminded 6 hours before its respond-by time (48 h
    after booking), once; past it the booking is unanswered, its slot free, and accepting is refused."""
    c = stack.client
    mentor_account, learner_account = anvil_account(6), anvil_account(7)
    mentor, learner, other = (
        stack.sign_in(mentor_account),
        stack.sign_in(learner_account),
        stack.sign_in(OTHER),
    )
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = session_listing(c, mentor)
    start = next_hour(days=5)
    made = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start})
    assert made.status_code == 201, made.text
    booking = made.json()["booking"]
    assert booking["respond_by"] == int(clock[0]) + 48 * HOUR
    stack.send(learner_account, made.json()["tx"])
    stack.index()
    eid = next(
        e["id"]
        for e in c.get("/me/engagements", headers=mentor).json()["data"]
        if e["client"] == learner_account.address
    )
    reminders = c.app.state.reminders  # type: ignore[attr-defined]

    def answers(headers: dict[str, str]) -> list[int | None]:
        data = c.get("/me/notifications", headers=headers).json()["data"]
        return [n["engagement_id"] for n in data if n["kind"] == "respond_soon"]

    clock[0] = booking["respond_by"] - 7 * HOUR
    reminders.run_once()
    assert answers(mentor) == []  # not yet
    clock[0] = booking["respond_by"] - 5 * HOUR
    assert reminders.run_once() == 1
    assert answers(mentor) == [eid] and answers(learner) == []
    assert reminders.run_once() == 0  # once
    clock[0] = booking["respond_by"] + 1
    assert c.get(f"/bookings/{booking['id']}", headers=learner).json()["state"] == "unanswered"
    # Past it, the learner is told to take the money back, once.
    assert reminders.run_once() == 1
    told = [
        n
        for n in c.get("/me/notifications", headers=learner).json()["data"]
        if n["kind"] == "request_unanswered"
    ]
    assert [n["engagement_id"] for n in told] == [eid]
    assert reminders.run_once() == 0
    refused = c.post(f"/engagements/{eid}/accept", headers=mentor)
    assert refused.status_code == 409 and "respond-by" in refused.json()["detail"]
    again = c.post("/bookings", headers=other, json={"listing_id": listing, "starts_at": start})
    assert again.status_code == 201, again.text  # the slot is free for someone else
    # The escrow knows no respond-by time: the mentor accepts on-chain anyway. The app says so on the
    # mentor's desk (booked outside the app: keep or decline), since the slot was given away.
    escrow = stack.w3.eth.contract(
        address=stack.record.address_of("SkillEscrow"), abi=load_artifact("SkillEscrow").abi
    )
    data = escrow.encode_abi("acceptEngagement", args=[eid])
    stack.send(
        mentor_account, {"to": escrow.address, "data": data, "value": "0x0", "chainId": stack.w3.eth.chain_id}
    )
    stack.index()
    outside = c.get("/me/outside-bookings", headers=mentor).json()["data"]
    assert [e["id"] for e in outside] == [eid]
