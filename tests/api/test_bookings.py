"""Holds and bookings: a slot is taken exactly once however many learners race for it (SQLite's
five-minute cells, PostgreSQL's exclusion constraint), overlapping starts and two listings of one
mentor conflict, the daily cap holds, a lapsed hold frees its slot, a funded request is confirmed
from the indexed chain only when it matches its hold (and falls back when a reorg removes it).
The app's clock is fixed, so holds lapse without sleeping."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3 import Web3

from api.app import create_app
from chain.artifacts import load_artifact
from chain.tx import Sender, anvil_account
from db.engine import make_engine
from db.migrate import upgrade
from tests.api.booking_flow import DAY, EVERY_DAY, HOUR, next_hour, session_listing
from tests.api.conftest import pg_database
from tests.api.conftest_chain import Stack
from tests.net import serve_in_thread

MENTOR, LEARNER = anvil_account(3), anvil_account(4)


def test_a_request_booking_is_held_funded_accepted_and_confirmed(stack: Stack, clock: list[float]) -> None:
    c = stack.client
    mentor, learner = stack.sign_in(MENTOR), stack.sign_in(LEARNER)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = session_listing(c, mentor)
    start = next_hour()
    made = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start})
    assert made.status_code == 201, made.text
    out = made.json()
    booking = out["booking"]
    assert booking["state"] == "held" and booking["due_date"] == start + HOUR + 7 * DAY
    assert out["quote"]["amount"] == str(10**16) and out["quote"]["symbol"] == "ETH"
    assert out["quote"]["expires_at"] == int(clock[0]) + 600 and out["tx"]["simulated"]
    slots = c.get(f"/listings/{listing}/slots", params={"from": start - DAY, "to": start + DAY}).json()
    assert start not in [s["starts_at"] for s in slots["data"]]  # held: nobody else sees it
    stack.send(LEARNER, out["tx"])
    stack.index()
    assert c.get(f"/bookings/{booking['id']}", headers=learner).json()["state"] == "requested"
    clock[0] += 3600  # past the hold: a funded request keeps its slot
    assert c.get(f"/bookings/{booking['id']}", headers=mentor).json()["state"] == "requested"
    other = stack.sign_in(anvil_account(5))
    assert (
        c.post("/bookings", headers=other, json={"listing_id": listing, "starts_at": start}).status_code
        == 409
    )
    eid = c.get("/me/engagements", headers=mentor).json()["data"][0]["id"]
    stack.send(MENTOR, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    stack.index()
    assert c.get(f"/bookings/{booking['id']}", headers=learner).json()["state"] == "confirmed"
    mine = c.get("/me/bookings", headers=mentor).json()
    assert booking["id"] in [b["id"] for b in mine["data"]]
    assert c.get(f"/bookings/{booking['id']}", headers=other).status_code == 404  # not theirs


def test_a_lapsed_hold_frees_its_slot_and_a_reorg_puts_a_booking_back(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    mentor, learner = stack.sign_in(MENTOR), stack.sign_in(LEARNER)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = session_listing(c, mentor)
    start = next_hour(days=3)
    held = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start}).json()
    clock[0] += 601  # the hold lapses unpaid
    assert c.get(f"/bookings/{held['booking']['id']}", headers=learner).json()["state"] == "expired"
    slots = c.get(f"/listings/{listing}/slots", params={"from": start - HOUR, "to": start + HOUR}).json()
    assert start in [s["starts_at"] for s in slots["data"]]
    second = stack.sign_in(anvil_account(6))
    again = c.post("/bookings", headers=second, json={"listing_id": listing, "starts_at": start})
    assert again.status_code == 201, again.text
    # Funded, then the block that funded it is reorganised away: held again (then expired).
    snapshot = stack.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    stack.send(anvil_account(6), again.json()["tx"])
    stack.index()
    bid = again.json()["booking"]["id"]
    assert c.get(f"/bookings/{bid}", headers=second).json()["state"] == "requested"
    stack.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    for _ in range(3):
        stack.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    stack.index()
    assert c.get(f"/bookings/{bid}", headers=second).json()["state"] == "held"


def test_bad_bookings_are_refused_in_words_and_write_nothing(stack: Stack, clock: list[float]) -> None:
    c = stack.client
    mentor, learner = stack.sign_in(MENTOR), stack.sign_in(LEARNER)
    weekdays = {
        "timezone": "UTC",
        "rules": [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)],
    }
    assert c.put("/me/availability", headers=mentor, json=weekdays).status_code == 200
    listing = session_listing(c, mentor)
    before = c.get("/me/bookings", headers=learner).json()["total"]
    day = next_hour(days=7, hour=0)
    monday = day + ((7 - time.gmtime(day).tm_wday) % 7) * DAY
    for start, status, words in [
        (monday + 20 * HOUR, 422, "not a bookable slot"),  # outside the hours
        (int(clock[0]) - DAY, 422, "not a bookable slot"),  # in the past
        (monday + 9 * HOUR + 15 * 60, 422, "not a bookable slot"),  # off the hourly grid
    ]:
        refused = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start})
        assert refused.status_code == status and words in refused.text, refused.text
    assert (
        c.post(
            "/bookings", headers=mentor, json={"listing_id": listing, "starts_at": monday + 9 * HOUR}
        ).status_code
        == 422
    )
    pounds = session_listing(c, mentor, price="20", currency="GBP")  # the test chain has no GBP/USD feed
    refused = c.post(
        "/bookings", headers=learner, json={"listing_id": pounds, "starts_at": monday + 9 * HOUR}
    )
    assert refused.status_code == 409 and "GBP/USD" in refused.text
    assert c.get("/me/bookings", headers=learner).json()["total"] == before


def _race(base: str, stack: Stack, client: httpx.Client, bodies: list[dict[str, int]]) -> list[int]:
    """Each body posted at once by a different new learner; the status codes."""
    learners = [stack.sign_in(Account.create(), client) for _ in bodies]  # type: ignore[arg-type]

    def post(i: int) -> int:
        with httpx.Client(base_url=base, timeout=30) as own:
            return own.post("/bookings", headers=learners[i], json=bodies[i]).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, range(len(bodies))))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_twenty_learners_racing_for_one_slot_one_wins(stack: Stack, database: str, tmp_path: Any) -> None:
    with pg_database() if database == "postgresql" else _sqlite(tmp_path) as url:
        upgrade(make_engine(url))
        app = create_app(stack.settings.model_copy(update={"database_url": url}))
        base, server, thread = serve_in_thread(app)
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                mentor = stack.sign_in(MENTOR, client)  # type: ignore[arg-type]
                capped = EVERY_DAY | {"daily_cap": 1}
                assert client.put("/me/availability", headers=mentor, json=capped).status_code == 200
                hourly = session_listing(client, mentor)
                quarterly = session_listing(client, mentor, step_minutes=15)
                start = next_hour(days=4)
                codes = _race(base, stack, client, [{"listing_id": hourly, "starts_at": start}] * 20)
                assert sorted(codes) == [201] + [409] * 19
                # 10:00–11:00 and 10:15–11:15 on two listings of one mentor: one wins.
                later = next_hour(days=5)
                codes = _race(
                    base,
                    stack,
                    client,
                    [
                        {"listing_id": hourly, "starts_at": later},
                        {"listing_id": quarterly, "starts_at": later + 900},
                    ]
                    * 3,
                )
                assert sorted(codes) == [201] + [409] * 5
                # The daily cap (1): two times far apart on one day, one wins.
                day = next_hour(days=6, hour=8)
                codes = _race(
                    base,
                    stack,
                    client,
                    [
                        {"listing_id": hourly, "starts_at": day},
                        {"listing_id": hourly, "starts_at": day + 6 * HOUR},
                    ]
                    * 2,
                )
                assert sorted(codes) == [201] + [409] * 3
        finally:
            server.should_exit = True
            thread.join(timeout=10)


class _sqlite:
    def __init__(self, tmp_path: Any) -> None:
        self.url = f"sqlite:///{tmp_path / 'race.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        return None


def test_instant_booking_from_the_mentors_standing_offer(stack: Stack, clock: list[float]) -> None:
    """The mentor signs one standing offer for the listing; two learners book two slots from it, each
    engagement accepted from the start and naming its booking by bookingRef."""
    from eth_account.messages import encode_typed_data

    c = stack.client
    mentor = stack.sign_in(MENTOR)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = session_listing(c, mentor, booking="instant")
    prepared = c.post(
        "/offers/prepare",
        headers=mentor,
        json={
            "title": "Python hour",
            "skill": "python",
            "session": {"amount": str(2 * 10**16), "length": 3600, "min_notice": 3600, "horizon": 30 * DAY},
            "uses": 10,
        },
    ).json()
    signature = "0x" + Account.sign_message(
        encode_typed_data(full_message=prepared["typed_data"]), MENTOR.key
    ).signature.hex().removeprefix("0x")
    wrong = c.put(
        f"/listings/{listing}/standing-offer",
        headers=mentor,
        json={"offer": prepared["offer"], "signature": "0x" + "11" * 65},
    )
    assert wrong.status_code == 400 and "signature" in wrong.text
    learner = stack.sign_in(LEARNER)
    early = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": next_hour(days=8)})
    assert early.status_code == 409 and "standing offer" in early.text  # not signed yet
    published = c.put(
        f"/listings/{listing}/standing-offer",
        headers=mentor,
        json={"offer": prepared["offer"], "signature": signature},
    )
    assert published.status_code == 200, published.text
    assert c.get(f"/listings/{listing}/standing-offer").json()["offer"]["nonce"] == prepared["offer"]["nonce"]
    # The signed offer fixes the token (ETH here): asking to pay in the stablecoin is refused in words.
    other_token = c.post(
        "/bookings",
        headers=learner,
        json={"listing_id": listing, "starts_at": next_hour(days=8), "pay_in": "stablecoin"},
    )
    assert other_token.status_code == 409 and "signed price in ETH" in other_token.text, other_token.text
    ids = []
    for learner_account, start in (
        (LEARNER, next_hour(days=8)),
        (anvil_account(6), next_hour(days=8, hour=14)),
    ):
        headers = stack.sign_in(learner_account)
        made = c.post("/bookings", headers=headers, json={"listing_id": listing, "starts_at": start})
        assert made.status_code == 201, made.text
        out = made.json()
        assert out["quote"]["amount"] == str(2 * 10**16)  # the offer's fixed amount, not the listing's price
        stack.send(learner_account, out["tx"])
        ids.append((headers, out["booking"]["id"]))
    stack.index()
    for headers, bid in ids:
        assert c.get(f"/bookings/{bid}", headers=headers).json()["state"] == "confirmed"  # no accept needed
    assert c.get("/me/outside-bookings", headers=mentor).json()["data"] == []
    # Someone funds the offer on-chain at a time the app never held: the mentor is told, to keep or decline.
    stranger = anvil_account(7)
    direct = c.post(
        "/offers/fund",
        headers=stack.sign_in(stranger),
        json={
            "offer": prepared["offer"],
            "signature": signature,
            "starts_at": next_hour(days=9, hour=3),
            "booking_ref": "0x" + "ee" * 32,
            "deadline": int(time.time()) + 600,
        },
    )
    assert direct.status_code == 200, direct.text
    stack.send(stranger, direct.json()["tx"])
    stack.index()
    [outside] = c.get("/me/outside-bookings", headers=mentor).json()["data"]
    assert outside["client"] == stranger.address and outside["accepted"]


def test_invites_and_the_private_calendar_feed(stack: Stack, clock: list[float]) -> None:
    from icalendar import Calendar

    c = stack.client
    mentor, learner = stack.sign_in(MENTOR), stack.sign_in(LEARNER)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = session_listing(c, mentor)
    start = next_hour(days=9, hour=16)
    out = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start}).json()
    bid = out["booking"]["id"]
    stack.send(LEARNER, out["tx"])
    stack.index()
    first = Calendar.from_ical(c.get(f"/bookings/{bid}/invite.ics", headers=learner).content)
    [event] = first.walk("VEVENT")
    assert first["METHOD"] == "REQUEST" and event["STATUS"] == "TENTATIVE"  # requested: the mentor to accept
    assert (
        event.decoded("DTSTART").timestamp() == start and event.decoded("DTEND").timestamp() == start + HOUR
    )
    again = Calendar.from_ical(c.get(f"/bookings/{bid}/invite.ics", headers=mentor).content)
    assert again.walk("VEVENT")[0]["UID"] == event["UID"] == f"{bid}@skillchain"  # stable
    assert c.get(f"/bookings/{bid}/invite.ics", headers=stack.sign_in(anvil_account(7))).status_code == 404
    url = c.post("/me/calendar-feed", headers=mentor).json()["url"]
    path = url[url.index("/calendar/") :]
    feed = Calendar.from_ical(c.get(path).content)
    assert f"{bid}@skillchain" in [str(e["UID"]) for e in feed.walk("VEVENT")]
    # The mentor declines: the invite becomes a cancellation, the feed shows it cancelled.
    mine = c.get("/me/engagements", headers=learner).json()["data"]
    eid = next(e["id"] for e in mine if e["status"] == "requested")
    stack.send(MENTOR, c.post(f"/engagements/{eid}/cancel", headers=mentor).json())
    stack.index()
    cancel = Calendar.from_ical(c.get(f"/bookings/{bid}/invite.ics", headers=learner).content)
    assert cancel["METHOD"] == "CANCEL" and cancel.walk("VEVENT")[0]["STATUS"] == "CANCELLED"
    rotated = c.post("/me/calendar-feed", headers=mentor).json()["url"]
    assert c.get(path).status_code == 404  # the old URL stops working
    assert c.delete("/me/calendar-feed", headers=mentor).status_code == 204
    assert c.get(rotated[rotated.index("/calendar/") :]).status_code == 404
    # The declined request gave its slot back.
    slots = c.get(f"/listings/{listing}/slots", params={"from": start - HOUR, "to": start + HOUR}).json()
    assert start in [s["starts_at"] for s in slots["data"]]


def test_fiat_prices_are_quoted_through_the_on_chain_feed_and_a_stale_feed_pauses_them(
    stack: Stack, clock: list[float]
) -> None:
    """The test chain's mock feeds: ETH/USD 2,500 and EUR/USD 1.1 (tests/indexer/conftest.py)."""
    c = stack.client
    mentor, learner = stack.sign_in(MENTOR), stack.sign_in(anvil_account(6))
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    dollars = session_listing(c, mentor, price="18", currency="USD")
    start = next_hour(days=5, hour=15)
    made = c.post(
        "/bookings", headers=learner, json={"listing_id": dollars, "starts_at": start, "pay_in": "ETH"}
    )
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["quote"]["symbol"] == "ETH" and out["quote"]["amount"] == str(72 * 10**14)  # 18 / 2500
    assert int(out["tx"]["value"], 16) == 72 * 10**14 and out["approval"] is None
    stack.send(anvil_account(6), out["tx"])
    stack.index()
    assert c.get(f"/bookings/{out['booking']['id']}", headers=learner).json()["state"] == "requested"

    euros = session_listing(c, mentor, price="20", currency="EUR")
    made = c.post("/bookings", headers=learner, json={"listing_id": euros, "starts_at": start + 2 * HOUR})
    assert made.status_code == 201, made.text
    quote = made.json()["quote"]
    assert quote["token"] == stack.record.address_of("TestStablecoin") and quote["amount"] == str(22 * 10**6)
    assert made.json()["approval"] is not None  # a token payment: approve first

    feed = stack.w3.eth.contract(
        address=Web3.to_checksum_address(stack.record.address_of("PriceFeed:ETH/USD")),
        abi=load_artifact("MockAggregator").abi,
    )
    block_time = stack.w3.eth.get_block("latest")["timestamp"]
    deployer = Sender(stack.w3, anvil_account(0))
    deployer.call(feed.functions.setRound(2500 * 10**8, block_time - 2 * HOUR))
    clock[0] = float(block_time)
    try:
        before = c.get("/me/bookings", headers=learner).json()["total"]
        body = {"listing_id": dollars, "starts_at": start + 4 * HOUR, "pay_in": "ETH"}
        stale = c.post("/bookings", headers=learner, json=body)
        assert stale.status_code == 503, stale.text
        assert "ETH/USD price feed was last updated 2 hours ago" in stale.text
        assert c.get("/me/bookings", headers=learner).json()["total"] == before  # nothing held
    finally:
        deployer.call(feed.functions.setAnswer(2500 * 10**8))


def test_prices_for_displays_convert_each_listing_and_a_stale_feed_only_leaves_its_conversion_out(
    stack: Stack, clock: list[float]
) -> None:
    """GET /prices: a USD listing in ETH (÷ 2,500) and in the 6-decimal stablecoin, an ETH listing in both,
    an instant listing at its signed amount (and asking to sign again once its price changed)."""
    from eth_account.messages import encode_typed_data

    c = stack.client
    mentor_account = anvil_account(8)
    mentor = stack.sign_in(mentor_account)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    dollars = session_listing(c, mentor, price="18", currency="USD")
    ether = session_listing(c, mentor, price="0.01", currency="ETH")
    instant = session_listing(c, mentor, price="0.02", currency="ETH", booking="instant")
    stable = stack.record.address_of("TestStablecoin")
    got = c.get("/prices", params={"listing": [dollars, ether, instant, 999_999]})
    assert got.status_code == 200, got.text
    by_id = {p["listing_id"]: p for p in got.json()["data"]}
    assert set(by_id) == {dollars, ether, instant}  # an unknown listing is left out
    assert [(o["token"], o["amount"], o["decimals"]) for o in by_id[dollars]["pays"]] == [
        ("0x" + "0" * 40, str(72 * 10**14), 18),  # 18 USD ÷ 2,500
        (stable, "18000000", 6),
    ]
    assert [o["amount"] for o in by_id[ether]["pays"]] == [str(10**16), str(25 * 10**6)]  # 0.01 × 2,500
    assert by_id[instant]["fixed"] and by_id[instant]["pays"] == [] and "not signed" in by_id[instant]["note"]
    # What the mentor should sign for: the listing's price through the feeds.
    assert [o["amount"] for o in by_id[instant]["converted"]] == [str(2 * 10**16), str(50 * 10**6)]
    prepared = c.post(
        "/offers/prepare",
        headers=mentor,
        json={
            "title": "Python hour",
            "skill": "python",
            "session": {"amount": str(2 * 10**16), "length": 3600, "min_notice": 3600, "horizon": 30 * DAY},
            "uses": 10,
        },
    ).json()
    signature = "0x" + Account.sign_message(
        encode_typed_data(full_message=prepared["typed_data"]), mentor_account.key
    ).signature.hex().removeprefix("0x")
    put = c.put(
        f"/listings/{instant}/standing-offer",
        headers=mentor,
        json={"offer": prepared["offer"], "signature": signature},
    )
    assert put.status_code == 200 and put.json()["matches_listing"]
    [signed] = c.get("/prices", params={"listing": instant}).json()["data"]
    assert signed["pays"] == [
        {"token": "0x" + "0" * 40, "symbol": "ETH", "decimals": 18, "amount": str(2 * 10**16)}
    ]
    assert c.patch(f"/listings/{instant}", headers=mentor, json={"price": "0.03"}).status_code == 200
    standing = c.get(f"/listings/{instant}/standing-offer").json()
    assert not standing["matches_listing"] and standing["signed_for_price"] == "0.02"
    # A stale ETH/USD feed: the USD listing still shows its stablecoin price, with the reason for the rest.
    feed = stack.w3.eth.contract(
        address=Web3.to_checksum_address(stack.record.address_of("PriceFeed:ETH/USD")),
        abi=load_artifact("MockAggregator").abi,
    )
    block_time = stack.w3.eth.get_block("latest")["timestamp"]
    deployer = Sender(stack.w3, anvil_account(0))
    deployer.call(feed.functions.setRound(2500 * 10**8, block_time - 2 * HOUR))
    clock[0] = float(block_time)
    try:
        [paused] = c.get("/prices", params={"listing": dollars}).json()["data"]
        assert [o["amount"] for o in paused["pays"]] == ["18000000"]
        assert "ETH/USD price feed was last updated 2 hours ago" in paused["note"]
    finally:
        deployer.call(feed.functions.setAnswer(2500 * 10**8))
    assert c.get("/prices", params={"listing": [0]}).status_code == 422
    assert c.get("/prices").status_code == 422


def test_a_price_range_in_your_currency_compares_listings_priced_in_others(
    stack: Stack, clock: list[float]
) -> None:
    """18 USD, 20 EUR (22 USD at 1.1) and 0.01 ETH (25 USD at 2,500): "at most 23 USD" finds the first
    two; "at least 21 USD" the last two; the same bounds unconverted compare raw numbers."""
    c = stack.client
    owner_account = anvil_account(2)
    owner = stack.sign_in(owner_account)
    ids = {
        currency: session_listing(c, owner, price=price, currency=currency)
        for currency, price in (("USD", "18"), ("EUR", "20"), ("ETH", "0.01"))
    }

    def found(**query: object) -> set[int]:
        got = c.get("/listings", params={"owner": owner_account.address, "limit": 100, **query})
        assert got.status_code == 200, got.text
        return {x["id"] for x in got.json()["data"]}

    assert found(max_price="23", price_currency="USD") == {ids["USD"], ids["EUR"]}
    assert found(min_price="21", price_currency="USD") == {ids["EUR"], ids["ETH"]}
    assert found(min_price="19", max_price="21", price_currency="EUR") == {ids["EUR"]}  # 18 USD is 16.36 EUR
    assert found(max_price="23") == {ids["USD"], ids["EUR"], ids["ETH"]}  # raw: 18, 20 and 0.01
    assert c.get("/listings", params={"max_price": "23", "price_currency": "XYZ"}).status_code == 422
    no_feed = c.get("/listings", params={"max_price": "23", "price_currency": "GBP"})  # no GBP/USD feed here
    assert no_feed.status_code == 409 and "GBP/USD" in no_feed.text
