""" "Your session starts within the hour": both parties of a confirmed booking are reminded once, by
the app's clock (moved, not waited for); an unconfirmed booking in the window is not."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import insert

from chain.tx import anvil_account
from db.booking import bookings
from db.engine import make_engine
from tests.api.conftest_chain import Stack

MENTOR, LEARNER, OTHER = anvil_account(3), anvil_account(4), anvil_account(5)
HOUR, DAY = 3600, 86400
EVERY_DAY = {"timezone": "UTC", "rules": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]}


@pytest.fixture
def clock(stack: Stack) -> Iterator[list[float]]:
    app = stack.client.app
    now = [float(time.time())]
    before = app.state.clock  # type: ignore[attr-defined]
    app.state.clock = lambda: now[0]  # type: ignore[attr-defined]
    yield now
    app.state.clock = before  # type: ignore[attr-defined]


def _kinds(stack: Stack, headers: dict[str, str]) -> list[tuple[str, int | None]]:
    data = stack.client.get("/me/notifications", headers=headers).json()["data"]
    return [(n["kind"], n["engagement_id"]) for n in data if n["kind"] == "session_starting"]


def test_both_parties_of_a_confirmed_session_are_reminded_once_within_the_hour(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    mentor, learner, other = stack.sign_in(MENTOR), stack.sign_in(LEARNER), stack.sign_in(OTHER)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = c.post(
        "/listings",
        headers=mentor,
        json={
            "kind": "offer",
            "skill": "python",
            "title": "Python hour",
            "description": "pairing",
            "price": "0.01",
            "currency": "ETH",
            "session": {
                "duration_minutes": 60,
                "notice_minutes": 60,
                "horizon_days": 30,
                "booking": "request",
            },
        },
    ).json()["id"]
    start = int(time.time()) // DAY * DAY + 2 * DAY + 10 * HOUR
    made = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start}).json()
    stack.send(LEARNER, made["tx"])
    stack.index()
    eid = c.get("/me/engagements", headers=mentor).json()["data"][0]["id"]
    stack.send(MENTOR, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    stack.index()
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
