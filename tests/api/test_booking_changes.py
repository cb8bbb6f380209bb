"""Changing a confirmed session on the stack's chain: a reschedule proposed by one party and accepted
by the other moves the booking (its slot, its invite's SEQUENCE, both parties told), refused in words
outside the grace, off the slots or when the time was sold meanwhile; and the listing's cancellation
policy: shown before booking, a learner's free cancellation asks the mentor to refund, a late one is
refused, the mentor's cancel refunds on-chain and the session reads cancelled."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from icalendar import Calendar

from chain.tx import anvil_account
from tests.api.booking_flow import DAY, EVERY_DAY, HOUR, accepted_request, next_hour, session_listing
from tests.api.conftest_chain import Stack

MENTOR, LEARNER, OTHER = anvil_account(3), anvil_account(4), anvil_account(5)


def _slots(c: Any, listing: int, around: int) -> list[int]:
    got = c.get(f"/listings/{listing}/slots", params={"from": around - DAY, "to": around + DAY}).json()
    return [s["starts_at"] for s in got["data"]]


def _kinds(c: Any, headers: dict[str, str]) -> list[str]:
    return [n["kind"] for n in c.get("/me/notifications", headers=headers).json()["data"]]


def test_a_reschedule_proposed_by_one_party_and_accepted_by_the_other_moves_the_session(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    start = next_hour(days=3)
    booked = accepted_request(stack, c, MENTOR, LEARNER, start)
    learner, mentor, bid = booked.learner, booked.mentor, booked.booking
    assert c.get(f"/bookings/{bid}", headers=learner).json()["state"] == "confirmed"
    new = start + DAY + 2 * HOUR
    proposed = c.post(f"/bookings/{bid}/reschedule", headers=learner, json={"starts_at": new})
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()
    assert proposal["status"] == "proposed" and proposal["ends_at"] == new + HOUR
    assert proposal["proposed_by"] == LEARNER.address
    seen = c.get(f"/bookings/{bid}", headers=mentor).json()
    assert seen["reschedule"]["id"] == proposal["id"] and seen["starts_at"] == start  # not moved yet
    assert "reschedule_proposed" in _kinds(c, mentor)
    # Only the other party answers; a stranger does not learn the booking exists.
    own = c.post(f"/bookings/{bid}/reschedule/{proposal['id']}", headers=learner, json={"verdict": "accept"})
    assert own.status_code == 409 and "other party" in own.text
    stranger = stack.sign_in(OTHER)
    assert (
        c.post(
            f"/bookings/{bid}/reschedule/{proposal['id']}", headers=stranger, json={"verdict": "accept"}
        ).status_code
        == 404
    )
    accepted = c.post(
        f"/bookings/{bid}/reschedule/{proposal['id']}", headers=mentor, json={"verdict": "accept"}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    moved = c.get(f"/bookings/{bid}", headers=learner).json()
    assert (moved["starts_at"], moved["ends_at"], moved["sequence"]) == (new, new + HOUR, 1)
    assert moved["state"] == "confirmed" and moved["reschedule"] is None
    assert moved["due_date"] == start + HOUR + 7 * DAY  # the on-chain due date does not move
    # The calendar replaces the entry: same UID, SEQUENCE 1, the new instants.
    [event] = Calendar.from_ical(c.get(f"/bookings/{bid}/invite.ics", headers=mentor).content).walk("VEVENT")
    assert str(event["UID"]) == f"{bid}@skillchain" and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART").timestamp() == new and event.decoded("DTEND").timestamp() == new + HOUR
    assert "rescheduled" in _kinds(c, learner) and "rescheduled" in _kinds(c, mentor)
    # The old time is free again, the new one taken.
    assert start in _slots(c, booked.listing, start) and new not in _slots(c, booked.listing, new)
    taken = c.post("/bookings", headers=stranger, json={"listing_id": booked.listing, "starts_at": new})
    assert taken.status_code == 409
    # The mentor proposes; the learner declines: the session keeps its time and the mentor is told.
    again = c.post(f"/bookings/{bid}/reschedule", headers=mentor, json={"starts_at": new + 3 * HOUR}).json()
    declined = c.post(
        f"/bookings/{bid}/reschedule/{again['id']}", headers=learner, json={"verdict": "decline"}
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert c.get(f"/bookings/{bid}", headers=mentor).json()["starts_at"] == new
    assert "reschedule_declined" in _kinds(c, mentor)
    # A proposal the proposer withdraws; a newer one replaces an open one.
    first = c.post(f"/bookings/{bid}/reschedule", headers=learner, json={"starts_at": new + 4 * HOUR}).json()
    second = c.post(f"/bookings/{bid}/reschedule", headers=learner, json={"starts_at": new + 5 * HOUR}).json()
    stale = c.post(f"/bookings/{bid}/reschedule/{first['id']}", headers=mentor, json={"verdict": "accept"})
    assert stale.status_code == 404 and "replaced" in stale.text
    wrong = c.post(f"/bookings/{bid}/reschedule/{second['id']}", headers=mentor, json={"verdict": "withdraw"})
    assert wrong.status_code == 409
    gone = c.post(f"/bookings/{bid}/reschedule/{second['id']}", headers=learner, json={"verdict": "withdraw"})
    assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"
    assert c.get(f"/bookings/{bid}", headers=mentor).json()["reschedule"] is None


def test_reschedules_are_refused_in_words_outside_the_grace_off_the_slots_and_when_sold_meanwhile(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    start = next_hour(days=4, hour=6)
    booked = accepted_request(stack, c, MENTOR, anvil_account(0), start, step_minutes=30)
    learner, mentor, bid = booked.learner, booked.mentor, booked.booking
    before = c.get(f"/bookings/{bid}", headers=learner).json()

    def propose(starts_at: int) -> Any:
        return c.post(f"/bookings/{bid}/reschedule", headers=learner, json={"starts_at": starts_at})

    late = propose(start + 7 * DAY)  # ends after the on-chain due date
    assert late.status_code == 409 and "due date" in late.text, late.text
    off_grid = propose(start + DAY + 7 * 60)
    assert off_grid.status_code == 422 and "slot" in off_grid.text
    past = propose(next_hour(days=0, hour=0))
    assert past.status_code == 422
    same = propose(start)
    assert same.status_code == 409 and "current time" in same.text
    # Someone else's session blocks the time.
    other = stack.sign_in(OTHER)
    busy = start + 2 * DAY
    held = c.post("/bookings", headers=other, json={"listing_id": booked.listing, "starts_at": busy})
    assert held.status_code == 201
    assert propose(busy).status_code == 409
    # Overlapping its own old slot is fine (the booking itself does not block its move).
    assert propose(start + 30 * 60).status_code == 201
    # Proposed while free, sold before the answer: accepting is refused and nothing moves.
    free = start + 3 * DAY
    proposal = propose(free).json()
    assert (
        c.post("/bookings", headers=other, json={"listing_id": booked.listing, "starts_at": free}).status_code
        == 201
    )
    refused = c.post(
        f"/bookings/{bid}/reschedule/{proposal['id']}", headers=mentor, json={"verdict": "accept"}
    )
    assert refused.status_code == 409 and "taken" in refused.text
    after = c.get(f"/bookings/{bid}", headers=learner).json()
    assert (after["starts_at"], after["sequence"]) == (before["starts_at"], 0)
    # An unpaid hold cannot be rescheduled (book another time instead); bad bodies are 422.
    hold = held.json()["booking"]["id"]
    unpaid = c.post(f"/bookings/{hold}/reschedule", headers=other, json={"starts_at": busy + DAY})
    assert unpaid.status_code == 409 and "held" in unpaid.text
    assert (
        c.post(f"/bookings/{bid}/reschedule", headers=learner, json={"starts_at": "soon"}).status_code == 422
    )
    assert (
        c.post(f"/bookings/{bid}/reschedule/1", headers=mentor, json={"verdict": "maybe"}).status_code == 422
    )
    assert (
        c.post(f"/bookings/0x{'00' * 32}/reschedule", headers=learner, json={"starts_at": free}).status_code
        == 404
    )
    # An expired proposal cannot be accepted.
    last = propose(start + 5 * DAY).json()
    clock[0] += 3 * DAY
    lapsed = c.post(f"/bookings/{bid}/reschedule/{last['id']}", headers=mentor, json={"verdict": "accept"})
    assert lapsed.status_code == 404
    # The other learner's holds lapsed unpaid meanwhile: their times can be moved into, cells and all.
    into = propose(busy).json()
    moved = c.post(f"/bookings/{bid}/reschedule/{into['id']}", headers=mentor, json={"verdict": "accept"})
    assert moved.status_code == 200, moved.text
    assert c.get(f"/bookings/{bid}", headers=learner).json()["starts_at"] == busy


def test_an_instant_booking_moved_stays_confirmed(stack: Stack, clock: list[float]) -> None:
    """Its engagement was funded with the old start (on-chain startsAt): the booking still matches it."""
    c = stack.client
    mentor_account, learner_account = anvil_account(6), anvil_account(7)
    mentor = stack.sign_in(mentor_account)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = session_listing(c, mentor, booking="instant")
    prepared = c.post(
        "/offers/prepare",
        headers=mentor,
        json={
            "title": "Python hour",
            "skill": "python",
            "session": {"amount": str(10**16), "length": 3600, "min_notice": 3600, "horizon": 30 * DAY},
            "uses": 5,
        },
    ).json()
    signature = "0x" + Account.sign_message(
        encode_typed_data(full_message=prepared["typed_data"]), mentor_account.key
    ).signature.hex().removeprefix("0x")
    assert (
        c.put(
            f"/listings/{listing}/standing-offer",
            headers=mentor,
            json={"offer": prepared["offer"], "signature": signature},
        ).status_code
        == 200
    )
    learner = stack.sign_in(learner_account)
    start = next_hour(days=5, hour=9)
    made = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start}).json()
    stack.send(learner_account, made["tx"])
    stack.index()
    bid = made["booking"]["id"]
    proposal = c.post(f"/bookings/{bid}/reschedule", headers=mentor, json={"starts_at": start + DAY}).json()
    answer = c.post(
        f"/bookings/{bid}/reschedule/{proposal['id']}", headers=learner, json={"verdict": "accept"}
    )
    assert answer.status_code == 200, answer.text
    moved = c.get(f"/bookings/{bid}", headers=learner).json()
    assert moved["starts_at"] == start + DAY and moved["state"] == "confirmed"
    assert moved["engagement_id"] is not None


def test_the_cancellation_policy_is_shown_and_followed(stack: Stack, clock: list[float]) -> None:
    c = stack.client
    mentor_account, learner_account = anvil_account(1), anvil_account(2)
    start = next_hour(days=6, hour=12)
    booked = accepted_request(stack, c, mentor_account, learner_account, start)
    learner, mentor, bid = booked.learner, booked.mentor, booked.booking
    listing = c.get(f"/listings/{booked.listing}").json()
    assert listing["session"]["free_cancel_hours"] == 24  # the default policy
    slots = c.get(f"/listings/{booked.listing}/slots").json()
    assert "until 24 h before" in slots["cancellation"]
    seen = c.get(f"/bookings/{bid}", headers=learner).json()
    assert seen["free_cancel_until"] == start - 24 * HOUR and seen["cancel_requested_at"] is None
    # A stricter policy later does not apply to a session booked before it.
    session = listing["session"] | {"free_cancel_hours": 720}
    assert (
        c.patch(f"/listings/{booked.listing}", headers=mentor, json={"session": session}).status_code == 200
    )
    assert c.get(f"/bookings/{bid}", headers=learner).json()["free_cancel_until"] == start - 24 * HOUR
    # Inside the free period: recorded, the mentor asked to refund (the contract cannot make them).
    cancelled = c.post(f"/bookings/{bid}/cancel", headers=learner)
    assert cancelled.status_code == 200, cancelled.text
    out = cancelled.json()
    assert out["free"] and out["tx"] is None and "dispute" in out["explanation"]
    assert out["booking"]["cancel_requested_at"] == int(clock[0])
    assert "cancel_requested" in _kinds(c, mentor)
    # Past the free period: refused in words, nothing recorded anew.
    clock[0] = start - 2 * HOUR
    late = c.post(f"/bookings/{bid}/cancel", headers=learner)
    assert late.status_code == 409 and "session is paid" in late.text, late.text
    # The mentor cancels: the cancel transaction, a full refund on-chain; the session reads cancelled,
    # its invite is a cancellation and its slot is free.
    by_mentor = c.post(f"/bookings/{bid}/cancel", headers=mentor).json()
    assert by_mentor["tx"]["simulated"] and "full refund" in by_mentor["tx"]["description"]
    stack.send(mentor_account, by_mentor["tx"])
    stack.index()
    assert c.get(f"/bookings/{bid}", headers=learner).json()["state"] == "cancelled"
    invite = Calendar.from_ical(c.get(f"/bookings/{bid}/invite.ics", headers=learner).content)
    assert invite["METHOD"] == "CANCEL"
    assert start in _slots(c, booked.listing, start)
    # A custom policy is kept with the listing.
    strict = session_listing(c, mentor, free_cancel_hours=72)
    assert c.get(f"/listings/{strict}").json()["session"]["free_cancel_hours"] == 72
    assert "until 72 h before" in c.get(f"/listings/{strict}/slots").json()["cancellation"]
