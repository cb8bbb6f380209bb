"""The free-time index behind "who is available in the next N days for skill X": a mentor with one
free hour this week is found until a learner holds it, found again once the hold lapses, and not
once the hour slips inside the notice; a mentor without hours or in another skill never is; the
index's pass recomputes what went stale. The app's clock moves; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime

from api.booking.free_index import FreeIndexPass
from chain.tx import anvil_account
from db.engine import make_engine
from tests.api.booking_flow import DAY, HOUR, session_listing
from tests.api.conftest_chain import Stack

ONE, NONE, OTHER_SKILL, LEARNER = anvil_account(3), anvil_account(4), anvil_account(5), anvil_account(6)


def _found(c: object, now: float, days: int = 7) -> dict[int, int | None]:
    got = c.get("/listings", params={"skill": "rust", "available_days": days, "limit": 100})  # type: ignore[attr-defined]
    assert got.status_code == 200, got.text
    return {x["id"]: x["next_free_at"] for x in got.json()["data"]}


def test_a_search_by_availability_follows_holds_their_lapse_and_the_notice(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    # Three days on, 10:00–11:00 UTC, that weekday only: one free hour in the next seven days.
    slot = int(clock[0]) // DAY * DAY + 3 * DAY + 10 * HOUR
    weekday = datetime.fromtimestamp(slot, UTC).weekday()
    one = stack.sign_in(ONE)
    hours = {"timezone": "UTC", "rules": [{"weekday": weekday, "start": "10:00", "end": "11:00"}]}
    assert c.put("/me/availability", headers=one, json=hours).status_code == 200
    found = session_listing(c, one, skill="rust")
    unpublished = session_listing(c, stack.sign_in(NONE), skill="rust")  # no hours published
    elsewhere_headers = stack.sign_in(OTHER_SKILL)
    assert c.put("/me/availability", headers=elsewhere_headers, json=hours).status_code == 200
    session_listing(c, elsewhere_headers, skill="go")
    assert _found(c, clock[0]) == {found: slot}
    assert unpublished not in _found(c, clock[0], days=1)
    # A learner holds the hour: the mentor is no longer free this week (next week is past 7 days).
    learner = stack.sign_in(LEARNER)
    held = c.post("/bookings", headers=learner, json={"listing_id": found, "starts_at": slot})
    assert held.status_code == 201, held.text
    assert _found(c, clock[0]) == {}
    # The hold lapses unpaid: the hour is free again, without anyone writing anything.
    clock[0] += 11 * 60
    assert _found(c, clock[0]) == {found: slot}
    # Past the hour's notice (60 minutes before it), it is not bookable any more.
    clock[0] = slot - 30 * 60
    assert _found(c, clock[0]) == {}
    # The background pass recomputes stale entries by itself.
    clock[0] = slot + 2 * DAY
    passes = FreeIndexPass(make_engine(stack.settings.effective_database_url), clock=lambda: clock[0])
    assert passes.run_once() >= 1
    assert passes.run_once() == 0  # fresh now: nothing to do
    assert found in _found(c, clock[0])  # a week on from the first, the same hour is free again


def test_bad_availability_searches_are_refused(stack: Stack, clock: list[float]) -> None:
    c = stack.client
    assert c.get("/listings", params={"available_days": 0}).status_code == 422
    assert c.get("/listings", params={"available_days": 8}).status_code == 422
    assert c.get("/listings", params={"available_days": "soon"}).status_code == 422
    # With the rating filter too (it joins the reputation table after the index's candidates).
    both = c.get("/listings", params={"available_days": 7, "min_rating": 1})
    assert both.status_code == 200 and both.json()["data"] == []
