"""Quotes in the paying token, exactly: stablecoin decimals, feed conversion rounded up, stale feeds
refused in words (the feed is read through an injected function here; test_bookings reads the
MockAggregator on anvil)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.booking.prices import ETH, FeedStale, PayIn, Unpriceable, UsdRates, price_of
from chain.price_feed import FeedReading

NOW = 1_800_000_000
USDC = "0x" + "a" * 40
FEEDS = {"ETH/USD": "0x" + "1" * 40, "EUR/USD": "0x" + "2" * 40, "INR/USD": "0x" + "3" * 40}
ANSWERS = {FEEDS["ETH/USD"]: 3000_00000000, FEEDS["EUR/USD"]: 1_08000000, FEEDS["INR/USD"]: 1200000}


def rates(answers: dict[str, int] = ANSWERS, *, updated: int = NOW - 60) -> UsdRates:
    def read(address: str) -> FeedReading:
        return FeedReading(answer=answers[address], decimals=8, updated_at=updated, round_id=7)

    return UsdRates(FEEDS, read, max_age=3600, now=NOW)


def quote(
    price: str, currency: str, *, r: UsdRates | None = None, pay_in: PayIn | None = None
) -> tuple[str, int]:
    listing = {"price": price, "currency": currency}
    got = price_of(listing, r or rates(), stablecoin=USDC, stablecoin_decimals=6, pay_in=pay_in)
    return got.token, got.amount


def test_an_eth_price_is_paid_in_wei_and_a_usd_price_in_stablecoin_units_by_its_decimals() -> None:
    assert quote("0.01", "ETH") == (ETH, 10**16)
    assert quote("18", "USD") == (USDC, 18_000_000)
    got = price_of({"price": "18.5", "currency": "USD"}, rates(), stablecoin=USDC, stablecoin_decimals=18)
    assert got.amount == 185 * 10**17


def test_other_currencies_convert_through_their_usd_feed() -> None:
    assert quote("20", "EUR") == (USDC, 21_600_000)  # 20 x 1.08
    assert quote("1500", "INR") == (USDC, 18_000_000)  # 1500 x 0.012
    assert quote("18", "USD", pay_in="ETH") == (ETH, 6 * 10**15)  # 18 / 3000
    assert quote("0.01", "ETH", pay_in="stablecoin") == (USDC, 30_000_000)  # 0.01 x 3000
    # 20 EUR in ETH: 21.6 USD / 3000 = 0.0072 ETH, exactly.
    assert quote("20", "EUR", pay_in="ETH") == (ETH, 72 * 10**14)


def test_a_conversion_that_does_not_terminate_is_rounded_up_to_the_smallest_unit() -> None:
    # 10 USD / 3000 = 0.0033... ETH: the mentor never gets less; the learner pays at most one wei more.
    assert quote("10", "USD", pay_in="ETH") == (ETH, 3_333_333_333_333_334)
    odd = rates({**ANSWERS, FEEDS["ETH/USD"]: 2999_12345678})
    token, amount = quote("18", "USD", pay_in="ETH", r=odd)
    exact = Decimal(18) / Decimal("2999.12345678") * 10**18
    assert token == ETH and amount - 1 < exact <= amount


def test_a_stale_unreadable_or_nonsensical_feed_pauses_quotes_in_words() -> None:
    with pytest.raises(FeedStale, match=r"ETH/USD price feed was last updated 2 hours ago"):
        quote("18", "USD", pay_in="ETH", r=rates(updated=NOW - 7200))
    with pytest.raises(FeedStale, match="which is no price"):
        quote("18", "USD", pay_in="ETH", r=rates({**ANSWERS, FEEDS["ETH/USD"]: 0}))

    def broken(_address: str) -> FeedReading:
        raise ConnectionError("node down")

    with pytest.raises(FeedStale, match=r"unreadable \(ConnectionError\)"):
        quote("18", "USD", pay_in="ETH", r=UsdRates(FEEDS, broken, max_age=3600, now=NOW))
    # Each feed by its own heartbeat: a daily fiat feed 20 hours old still prices, ETH/USD does not.
    daily = UsdRates(
        FEEDS,
        lambda a: FeedReading(answer=ANSWERS[a], decimals=8, updated_at=NOW - 20 * 3600, round_id=7),
        max_age=3600,
        max_ages={"eur/usd": 90000},
        now=NOW,
    )
    assert quote("20", "EUR", r=daily) == (USDC, 21_600_000)
    with pytest.raises(FeedStale, match=r"INR/USD price feed was last updated 20 hours ago"):
        quote("1500", "INR", r=daily)
    # A stale ETH/USD feed does not stop what needs no feed.
    assert quote("18", "USD", r=rates(updated=NOW - 7200)) == (USDC, 18_000_000)


def test_a_currency_without_a_feed_or_a_missing_stablecoin_is_unpriceable() -> None:
    with pytest.raises(Unpriceable, match="no GBP/USD price feed"):
        quote("10", "GBP")
    with pytest.raises(Unpriceable, match="no stablecoin"):
        price_of(
            {"price": "1", "currency": "ETH"},
            rates(),
            stablecoin=None,
            stablecoin_decimals=6,
            pay_in="stablecoin",
        )
    # Without a stablecoin a fiat price is paid in ETH.
    got = price_of({"price": "18", "currency": "USD"}, rates(), stablecoin=None, stablecoin_decimals=6)
    assert (got.token, got.amount) == (ETH, 6 * 10**15)
    # A stablecoin whose decimals are unknown is never guessed at.
    with pytest.raises(Unpriceable, match="decimals are unknown"):
        price_of({"price": "18", "currency": "USD"}, rates(), stablecoin=USDC, stablecoin_decimals=None)
