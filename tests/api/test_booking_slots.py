"""Availability and slots through the API: a mentor in Europe/Berlin publishes weekly hours; a
learner reads a listing's slots in America/Los_Angeles; bad input is refused in words and changes
nothing. The app's clock is fixed (app.state.clock), so notice and horizon need no sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

MENTOR, LEARNER = anvil_account(5), anvil_account(6)
NOW = int(datetime(2026, 3, 23, 12, tzinfo=UTC).timestamp())  # Monday; Berlin changes clocks on the 29th
WEEK = {
    "timezone": "Europe/Berlin",
    "daily_cap": 3,
    "rules": [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)]
    + [{"weekday": 5, "start": "10:00", "end": "11:00"}],
    "exceptions": [
        {"date": "2026-03-25", "kind": "off"},
        {"date": "2026-03-29", "kind": "extra", "start": "09:00", "end": "10:00"},
    ],
}
SESSION = {
    "duration_minutes": 60,
    "buffer_minutes": 0,
    "notice_minutes": 720,
    "horizon_days": 30,
    "booking": "request",
}


@pytest.fixture
def fixed_clock(stack: Stack) -> Iterator[None]:
    app = stack.client.app
    before = app.state.clock  # type: ignore[attr-defined]
    app.state.clock = lambda: float(NOW)  # type: ignore[attr-defined]
    yield
    app.state.clock = before  # type: ignore[attr-defined]


def _listing(stack: Stack, mentor: dict[str, str], session: dict[str, object] | None = SESSION) -> int:
    body = {
        "kind": "offer",
        "skill": "python",
        "title": "Python hour",
        "description": "pairing",
        "price": "30",
    }
    created = stack.client.post(
        "/listings", headers=mentor, json=body | ({"session": session} if session else {})
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_availability_round_trips_and_bad_input_changes_nothing(stack: Stack) -> None:
    c, mentor = stack.client, stack.sign_in(MENTOR)
    assert c.put("/me/availability", json=WEEK).status_code == 401
    saved = c.put("/me/availability", headers=mentor, json=WEEK)
    assert saved.status_code == 200, saved.text
    public = c.get(f"/users/{MENTOR.address}/availability").json()
    assert public["timezone"] == "Europe/Berlin" and public["daily_cap"] == 3
    assert {"weekday": 5, "start": "10:00", "end": "11:00"} in public["rules"]
    assert {"date": "2026-03-25", "kind": "off", "start": None, "end": None} in public["exceptions"]
    for bad, words in [
        ({**WEEK, "timezone": "Mars/Olympus_Mons"}, "not an IANA time zone"),
        ({**WEEK, "rules": [{"weekday": 0, "start": "12:00", "end": "09:00"}]}, "end must be after start"),
        ({**WEEK, "rules": [{"weekday": 0, "start": "09:07", "end": "10:00"}]}, "five-minute steps"),
        ({**WEEK, "rules": [{"weekday": 7, "start": "09:00", "end": "10:00"}]}, "less than or equal to 6"),
        (
            {**WEEK, "exceptions": [{"date": "2026-03-26", "kind": "extra"}]},
            "extra hours need a start and an end",
        ),
        ({**WEEK, "exceptions": [{"date": "2026-02-30", "kind": "off"}]}, "date"),
    ]:
        refused = c.put("/me/availability", headers=mentor, json=bad)
        assert refused.status_code == 422 and words in refused.text, (bad, refused.text)
    assert c.get(f"/users/{MENTOR.address}/availability").json() == public  # nothing written
    assert c.get(f"/users/{LEARNER.address}/availability").status_code == 404


def test_slots_in_the_learners_zone_across_the_clock_change(stack: Stack, fixed_clock: None) -> None:
    c, mentor = stack.client, stack.sign_in(MENTOR)
    assert c.put("/me/availability", headers=mentor, json=WEEK).status_code == 200
    listing = _listing(stack, mentor)
    assert c.get(f"/listings/{listing}").json()["session"]["duration_minutes"] == 60
    got = c.get(
        f"/listings/{listing}/slots",
        params={"from": "2026-03-23", "to": "2026-04-01", "tz": "America/Los_Angeles"},
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["timezone"] == "America/Los_Angeles" and body["mentor_timezone"] == "Europe/Berlin"
    starts = [s["start"] for s in body["data"]]
    # Monday 23rd: 09:00–12:00 Berlin is within the 12-hour notice of noon UTC — none. Tuesday: three
    # (09:00 CET = 01:00 in Los Angeles, which already moved to summer time on the 8th).
    assert [s for s in starts if s.startswith("2026-03-24")] == [
        "2026-03-24T01:00:00-07:00",
        "2026-03-24T02:00:00-07:00",
        "2026-03-24T03:00:00-07:00",
    ]
    assert not [s for s in starts if "2026-03-25T0" in s and s < "2026-03-25T23"]  # Wednesday is off
    # Sunday 29th (extra 09:00–10:00): Berlin is on summer time, so 09:00 there is 00:00 in Los Angeles.
    assert "2026-03-29T00:00:00-07:00" in starts
    assert "2026-03-30T00:00:00-07:00" in starts  # Monday 30th 09:00 Berlin
    assert body["total"] == len(body["data"])
    for s in body["data"]:
        assert s["ends_at"] - s["starts_at"] == 3600 and s["starts_at"] >= NOW + 12 * 3600


def test_slots_pages_and_refusals(stack: Stack, fixed_clock: None) -> None:
    c, mentor = stack.client, stack.sign_in(MENTOR)
    assert c.put("/me/availability", headers=mentor, json=WEEK).status_code == 200
    listing = _listing(stack, mentor)
    first = c.get(
        f"/listings/{listing}/slots", params={"from": "2026-03-24", "to": "2026-03-31", "limit": 2}
    ).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    second = c.get(
        f"/listings/{listing}/slots",
        params={"from": "2026-03-24", "to": "2026-03-31", "limit": 2, "cursor": first["next_cursor"]},
    ).json()
    assert second["data"][0]["starts_at"] > first["data"][-1]["starts_at"]
    custom = _listing(stack, mentor, session=None)
    assert c.get(f"/listings/{custom}/slots").status_code == 409
    assert c.get("/listings/999999/slots").status_code == 404
    for params, words in [
        ({"tz": "Nowhere/City"}, "not an IANA time zone"),
        ({"from": "2026-03-24", "to": "2026-06-30"}, "at most 62 days"),
        ({"from": "2026-03-24", "to": "2026-03-20"}, "to must be after from"),
        ({"from": "next tuesday"}, "ISO 8601"),
    ]:
        refused = c.get(f"/listings/{listing}/slots", params=params)
        assert refused.status_code == 422 and words in refused.text, (params, refused.text)
    bad_session = {**SESSION, "duration_minutes": 7}
    made = c.post(
        "/listings",
        headers=mentor,
        json={
            "kind": "offer",
            "skill": "python",
            "title": "x",
            "description": "y",
            "price": "1",
            "session": bad_session,
        },
    )
    assert made.status_code == 422
