"""The booking API's edges: availability in, availability and slots out."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, model_validator

from api.models import HexSignature, SessionOffering, Strict  # noqa: F401 - SessionOffering re-exported
from api.offers.schemas import OfferFields
from api.pagination import Page
from chain.txbuilder import PreparedTx

CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone (for example Europe/Berlin, Asia/Kolkata)")
    return name


def _clock(value: str) -> str:
    if not CLOCK.match(value):
        raise ValueError("a time of day as HH:MM, 00:00 to 24:00")
    if int(value[3:]) % 5:
        raise ValueError("times are on five-minute steps (09:00, 09:05, …)")
    return value


TimeZone = Annotated[str, Field(max_length=64, examples=["Europe/Berlin"]), AfterValidator(_zone)]
ClockTime = Annotated[str, Field(max_length=5, examples=["09:00"]), AfterValidator(_clock)]


def minutes(value: str) -> int:
    return int(value[:2]) * 60 + int(value[3:])


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class RuleIn(Strict):
    """Available every `weekday` (0 = Monday … 6 = Sunday) from `start` to `end`, local time."""

    weekday: int = Field(ge=0, le=6)
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _ordered(self) -> RuleIn:
        if minutes(self.end) <= minutes(self.start):
            raise ValueError("end must be after start (a rule ends by midnight: use 24:00)")
        return self


class ExceptionIn(Strict):
    """One local date: `off` (all day, or from `start` to `end`) or `extra` hours from `start` to `end`."""

    date: date
    kind: Literal["off", "extra"]
    start: ClockTime | None = None
    end: ClockTime | None = None

    @model_validator(mode="after")
    def _hours(self) -> ExceptionIn:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither (a whole day off)")
        if self.kind == "extra" and self.start is None:
            raise ValueError("extra hours need a start and an end")
        if self.start is not None and self.end is not None and minutes(self.end) <= minutes(self.start):
            raise ValueError("end must be after start")
        return self


class AvailabilityIn(Strict):
    timezone: TimeZone
    daily_cap: int | None = Field(None, ge=1, le=48, description="sessions per local day, all listings")
    rules: list[RuleIn] = Field(default_factory=list, max_length=70)
    exceptions: list[ExceptionIn] = Field(default_factory=list, max_length=400)


class AvailabilityPublic(BaseModel):
    address: str
    timezone: str
    daily_cap: int | None
    rules: list[RuleIn]
    exceptions: list[ExceptionIn]


class SlotPublic(BaseModel):
    start: str = Field(description="ISO 8601 in the requested time zone")
    end: str
    starts_at: int = Field(description="unix seconds")
    ends_at: int


class SlotsPublic(Page[SlotPublic]):
    """Bookable slots in time order; `timezone` is the zone `start` and `end` are written in."""

    timezone: str
    mentor_timezone: str | None
    cancellation: str = Field(description="the listing's cancellation policy, in words")


class BookingIn(Strict):
    listing_id: int = Field(ge=1, lt=2**31)
    starts_at: int = Field(ge=0, lt=2**32, description="unix seconds: a start from the listing's slots")
    pay_in: Literal["ETH", "stablecoin"] | None = Field(
        None,
        description="request-to-book: the token to pay in (default: ETH for an ETH price, else the "
        "stablecoin); the price is converted through the price feeds. Instant booking pays the standing "
        "offer's token.",
    )


class BookingCardIn(Strict):
    method: Literal["stripe", "razorpay"] = Field(description="stripe: charged in USD; razorpay: in INR")


class QuotePublic(BaseModel):
    token: str = Field(description="ERC-20 address; the zero address is ETH")
    symbol: str
    amount: str = Field(description="what the wallet pays, in the token's smallest unit (decimal string)")
    fee_bps: int
    expires_at: int = Field(description="the hold (and this quote) lapses then; the slot is freed")
    card_methods: list[str] = Field(
        default_factory=list,
        description="card providers configured here that charge in the listing's currency "
        "(stripe: USD; razorpay: INR); empty when card payment is not offered for it",
    )
    cancellation: str = Field("", description="the listing's cancellation policy, in words")


class ReschedulePublic(BaseModel):
    """A proposal to move a confirmed session; the other party accepts or declines it."""

    id: int
    booking_id: str
    proposed_by: str
    starts_at: int
    ends_at: int
    status: Literal["proposed", "accepted", "declined", "withdrawn", "superseded"]
    created_at: int
    expires_at: int = Field(description="unanswered by then (or by the proposed start), it lapses")


class RescheduleIn(Strict):
    starts_at: int = Field(
        ge=0, lt=2**32, description="unix seconds: a slot of the listing ending an hour before the due date"
    )


class RescheduleAnswerIn(Strict):
    verdict: Literal["accept", "decline", "withdraw"] = Field(
        description="accept or decline: the other party; withdraw: who proposed it"
    )


class BookingPublic(BaseModel):
    id: str = Field(description="also the engagement's bookingRef / terms nonce")
    listing_id: int
    mentor: str
    learner: str
    starts_at: int
    ends_at: int
    mode: str
    state: str = Field(
        description="held (waiting for payment), expired, requested (paid, the mentor to accept by "
        "respond_by), unanswered (not accepted in time: the slot is free, the learner may withdraw), "
        "confirmed, withdrawn, declined, completed"
    )
    hold_expires_at: int
    respond_by: int | None = Field(
        None, description="a request: the mentor accepts or declines by then (unix seconds)"
    )
    engagement_id: int | None = Field(None, description="the funded engagement, once the indexer has it")
    due_date: int = Field(description="the on-chain due date: the session's end plus the reschedule grace")
    amount: str
    token: str
    sequence: int = Field(0, description="accepted reschedules so far (the invite's SEQUENCE)")
    reschedule: ReschedulePublic | None = Field(None, description="the open proposal of a new time, if any")
    free_cancel_until: int | None = Field(
        None, description="the learner may cancel free of charge until then (the listing's policy)"
    )
    cancel_requested_at: int | None = Field(
        None, description="the learner cancelled in the free period: the mentor is asked to refund"
    )


class BookingCancelPublic(BaseModel):
    booking: BookingPublic
    free: bool = Field(description="inside the listing's free cancellation period (always, for the mentor)")
    explanation: str = Field(description="what happens now, and what the contract can and cannot enforce")
    tx: PreparedTx | None = Field(None, description="the mentor's: cancel(id), a full refund to the payer")


class BookingCreated(BaseModel):
    booking: BookingPublic
    quote: QuotePublic
    tx: PreparedTx = Field(description="the request that funds it (createEngagement), simulated")
    approval: PreparedTx | None = Field(None, description="a token payment's ERC-20 approve, to send first")
    document_cid: str = Field(description="the engagement's terms document (IPFS)")


class BookingsPublic(Page[BookingPublic]):
    """Your bookings as learner or mentor, soonest first."""


class StandingOfferIn(Strict):
    """The mentor's signature over the listing's session offer (from POST /offers/prepare)."""

    offer: OfferFields
    signature: HexSignature


class StandingOfferPublic(BaseModel):
    listing_id: int
    offer: OfferFields
    valid_until: int
    signed_for_price: str | None = Field(None, description="the listing's price when the mentor signed")
    signed_for_currency: str | None = None
    matches_listing: bool = Field(
        True,
        description="false once the listing's price or currency changed since signing: the mentor should "
        "sign again (bookings still pay the signed amount until then)",
    )


class PayOption(BaseModel):
    token: str = Field(description="ERC-20 address; the zero address is ETH")
    symbol: str
    decimals: int
    amount: str = Field(description="in the token's smallest unit (decimal string)")


class ListingPrice(BaseModel):
    """What one session (or the listed price) costs in each token you can pay with."""

    listing_id: int
    price: str
    currency: str
    pays: list[PayOption] = Field(
        description="ETH and/or the stablecoin; an instant booking: its signed amount"
    )
    fixed: bool = Field(description="true for an instant booking: the mentor's signed amount, not the feed")
    converted: list[PayOption] = Field(
        default_factory=list,
        description="the listing's price through the feeds in ETH and the stablecoin (what an instant "
        "listing's standing offer should be signed for)",
    )
    note: str | None = Field(None, description="why a conversion is missing (a stale feed, no stablecoin)")


class ListingPrices(BaseModel):
    data: list[ListingPrice]
