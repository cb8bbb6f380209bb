"""A listing's price in the token that pays it, exactly.

Stablecoins count by their own decimals (USDC has 6) at 1 USD each; ETH and other fiat currencies go
through Chainlink-style `<CODE>/USD` feeds read on-chain, refused when stale. Amounts are Decimal
arithmetic rounded *up* to the token's smallest unit: the mentor never receives less than the price,
the learner pays at most one unit (one wei) more. Knows no HTTP: the routes map the errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from web3 import Web3

from chain.price_feed import FeedReading, read_feed

if TYPE_CHECKING:
    from api.deps import ChainContext
    from skillchain.settings import Settings

ETH = "0x" + "0" * 40
FEED_PREFIX = "PriceFeed:"  # chain.deploy records a mock feed as PriceFeed:ETH/USD
PayIn = Literal["ETH", "stablecoin"]


class Unpriceable(ValueError):
    """The listing's price cannot be paid in the token asked for (no feed, no stablecoin)."""


class FeedStale(RuntimeError):
    """A feed the quote needs is older than the allowed age, unreadable, or answers nonsense."""


@dataclass(frozen=True)
class Price:
    token: str
    amount: int
    symbol: str


class UsdRates:
    """USD per unit of a currency, from the configured feeds (`pair` -> feed address), each read at
    most once per instance (one quote), refused when older than its pair's `max_ages` entry, or
    `max_age` seconds for a pair without one."""

    def __init__(
        self,
        feeds: Mapping[str, str],
        read: Callable[[str], FeedReading],
        *,
        max_age: int,
        max_ages: Mapping[str, int] | None = None,
        now: int,
    ) -> None:
        self.feeds = {pair.upper(): address for pair, address in feeds.items()}
        self.read = read
        self.max_age = max_age
        self.max_ages = {pair.upper(): age for pair, age in (max_ages or {}).items()}
        self.now = now
        self._seen: dict[str, Decimal] = {}

    def has(self, currency: str) -> bool:
        return currency == "USD" or f"{currency}/USD" in self.feeds

    def usd_per(self, currency: str) -> Decimal:
        if currency == "USD":
            return Decimal(1)
        pair = f"{currency}/USD"
        if pair in self._seen:
            return self._seen[pair]
        address = self.feeds.get(pair)
        if address is None:
            raise Unpriceable(f"there is no {pair} price feed, so a price in {currency} cannot be converted")
        try:
            reading = self.read(address)
        except Exception as exc:  # noqa: BLE001 - any node or contract failure means no price now
            raise FeedStale(
                f"the {pair} price feed at {address} unreadable ({type(exc).__name__}): try again shortly"
            ) from None
        age, limit = self.now - reading.updated_at, self.max_ages.get(pair, self.max_age)
        if age > limit:
            raise FeedStale(
                f"the {pair} price feed was last updated {_ago(age)} ago, longer than the "
                f"{_ago(limit)} a quote may rely on: quotes through it are paused until it updates"
            )
        if reading.answer <= 0:
            raise FeedStale(
                f"the {pair} price feed answers {reading.value}, which is no price: quotes are paused"
            )
        self._seen[pair] = reading.value
        return reading.value


def feeds_of(settings: Settings, chain: ChainContext) -> dict[str, str]:
    """The configured feeds; on a chain without any, the mock feeds its deployment recorded."""
    if settings.price_feeds:
        return dict(settings.price_feeds)
    return {
        name.removeprefix(FEED_PREFIX): contract.address
        for name, contract in chain.record.contracts.items()
        if name.startswith(FEED_PREFIX)
    }


def usd_rates(settings: Settings, chain: ChainContext, now: int) -> UsdRates:
    """The rates one quote reads, through the API's node."""
    w3 = _node(settings.effective_rpc_url)
    return UsdRates(
        feeds_of(settings, chain),
        lambda address: read_feed(w3, address),
        max_age=settings.price_feed_max_age,
        max_ages=settings.price_feed_max_ages,
        now=now,
    )


@lru_cache(maxsize=4)
def _node(rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 5}))


def _ago(seconds: int) -> str:
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours"
    if seconds >= 120:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


def units(value: Decimal, decimals: int) -> int:
    """`value` tokens in the token's smallest unit, rounded up."""
    return int((value.scaleb(decimals)).to_integral_value(rounding=ROUND_CEILING))


def price_of(
    listing: Mapping[str, Any],
    rates: UsdRates,
    *,
    stablecoin: str | None,
    stablecoin_decimals: int | None,
    pay_in: PayIn | None = None,
) -> Price:
    """What one session of `listing` costs in the token it is paid in.

    By default a price in ETH is paid in ETH and a fiat price in the stablecoin (ETH through the
    ETH/USD feed when there is none); `pay_in` asks for one of the two. `stablecoin_decimals` is the
    token's own `decimals()` (None when unknown: a stablecoin price is then refused)."""
    with localcontext() as ctx:
        ctx.prec = 60  # a division by a feed's answer never rounds near the 18th decimal
        return _price(listing, rates, stablecoin, stablecoin_decimals, pay_in)


def _price(
    listing: Mapping[str, Any],
    rates: UsdRates,
    stablecoin: str | None,
    stablecoin_decimals: int | None,
    pay_in: PayIn | None,
) -> Price:
    price = Decimal(str(listing["price"]))
    currency = str(listing["currency"]).upper()
    choice = pay_in or ("ETH" if currency == "ETH" or not stablecoin else "stablecoin")
    if choice == "stablecoin":
        if not stablecoin:
            raise Unpriceable("this marketplace has no stablecoin configured: pay in ETH")
        if stablecoin_decimals is None:  # never guessed: 6 for one token is 10^12 times off for another
            raise Unpriceable(
                f"the stablecoin {stablecoin} is not among this chain's known tokens, so its decimals are "
                "unknown: pay in ETH"
            )
        usd = price * (rates.usd_per("ETH") if currency == "ETH" else rates.usd_per(currency))
        return Price(stablecoin, units(usd, stablecoin_decimals), "USD stablecoin")
    if currency == "ETH":
        return Price(ETH, units(price, 18), "ETH")
    usd = price * rates.usd_per(currency)
    return Price(ETH, units(usd / rates.usd_per("ETH"), 18), "ETH")
