"""What the offer routes take and return. uint256 and uint64 values travel as decimal strings: a
JavaScript number loses precision above 2^53, and voucher and offer nonces are 128-bit."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from api.models import (
    Address,
    HexSignature,
    MilestoneIn,
    Name,
    Name120,
    SkillSlug,
    Strict,
    Text,
    Uint256Str,
)
from api.pagination import Page
from chain.txbuilder import PreparedTx

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
Signature = HexSignature
DAY = 86400


class SessionTerms(Strict):
    """A standing session offer: one fixed amount per session, in one token."""

    amount: Uint256Str
    length: int = Field(ge=300, le=12 * 3600, description="seconds a session lasts")
    grace: int = Field(7 * DAY, ge=0, le=90 * DAY, description="reschedule grace after the session's end")
    min_notice: int = Field(
        3600, ge=0, le=90 * DAY, description="a session starts at least this long after booking"
    )
    horizon: int = Field(
        60 * DAY, ge=0, le=365 * DAY, description="how far ahead a session may be booked (0: no limit)"
    )


class OfferPrepare(Strict):
    """Terms for the provider (the signed-in wallet) to sign: a session offer or a custom engagement."""

    title: Name
    description: Text = ""
    skill: SkillSlug
    token: Literal["ETH"] | Address = "ETH"
    session: SessionTerms | None = None
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=16)
    client: Address | None = Field(None, description="the only client who may take it; empty: any learner")
    review_window: int = Field(DAY, ge=3600, le=30 * DAY)
    arbiter: Address | None = None
    uses: int = Field(1, ge=1, lt=2**32, description="how many engagements the offer may fund")
    valid_for: int = Field(
        30 * DAY, ge=60, le=365 * DAY, description="seconds from now the offer stays valid"
    )

    @model_validator(mode="after")
    def _one_shape(self) -> OfferPrepare:
        if (self.session is None) == (not self.milestones):
            raise ValueError(
                "give either `session` (a session offer) or `milestones` (a custom offer), not both"
            )
        return self


class OfferFields(Strict):
    """An offer exactly as signed, every integer as a decimal string (the typed data's `message`)."""

    provider: Address
    client: Address
    token: Address
    amounts: list[Uint256Str] = Field(min_length=1, max_length=16)
    dueDates: list[Uint256Str] = Field(default_factory=list, max_length=16)
    sessionLength: Uint256Str
    grace: Uint256Str
    minNotice: Uint256Str
    horizon: Uint256Str
    reviewWindow: Uint256Str
    arbiter: Address
    termsDigest: Hex32
    nonce: Uint256Str
    uses: Uint256Str
    validUntil: Uint256Str


class OfferTypedData(BaseModel):
    """What the provider's wallet signs with eth_signTypedData_v4, and the terms document behind it."""

    typed_data: dict[str, object]
    offer: OfferFields
    document_cid: str
    digest: str


class OfferFund(Strict):
    """Fund a signed offer as the client (the signed-in wallet)."""

    offer: OfferFields
    signature: Signature
    starts_at: int = Field(0, ge=0, lt=2**32, description="a session's start; 0 for a custom offer")
    booking_ref: Hex32 = "0x" + "00" * 32
    deadline: int = Field(
        gt=0, lt=2**63, description="the transaction reverts after this time (the hold's end)"
    )


class CustomMilestoneIn(Strict):
    title: Name
    description: Text = ""
    price: Decimal = Field(
        gt=0, le=Decimal("1000000"), max_digits=18, decimal_places=8, description="in the offer's currency"
    )
    due_date: int = Field(gt=0, lt=2**32, description="unix seconds")


class CustomOfferIn(Strict):
    """A custom offer for one learner: milestones priced in `currency`, converted now (through the
    on-chain price feeds) into the token the learner pays; the mentor then signs it."""

    client: Address = Field(description="the one learner who may fund it")
    title: Name120
    description: Text = ""
    skill: SkillSlug
    currency: Literal["USD", "EUR", "GBP", "INR", "ETH"] = "USD"
    pay_in: Literal["ETH", "stablecoin"] | None = Field(
        None, description="default: ETH for an ETH price, else the stablecoin"
    )
    milestones: list[CustomMilestoneIn] = Field(min_length=1, max_length=16)
    review_window: int = Field(DAY, ge=3600, le=30 * DAY)
    arbiter: Address | None = None
    valid_for: int = Field(7 * DAY, ge=3600, le=90 * DAY, description="seconds from now it can be funded")
    listing_id: int | None = Field(None, ge=1, lt=2**31, description="your listing it answers, if any")


class CustomOfferSignatureIn(Strict):
    signature: HexSignature = Field(description="the mentor's eth_signTypedData_v4 over `typed_data`")


CustomOfferState = Literal["draft", "open", "funded", "expired", "cancelled"]


class CustomOfferPublic(BaseModel):
    """A custom offer as its two parties see it. `draft`: waiting for the mentor's signature; `open`:
    signed, the learner may fund it until `valid_until`; `funded` once an engagement from it is
    indexed."""

    id: int
    provider: str
    client: str
    listing_id: int | None
    title: str
    currency: str
    prices: list[str] = Field(description="each milestone's price in `currency` (decimal strings)")
    offer: OfferFields
    typed_data: dict[str, object] = Field(description="what the mentor signs")
    document_cid: str
    signature: str | None = Field(description="the mentor's, once signed (only its parties see it)")
    state: CustomOfferState
    valid_until: int
    created_at: int
    engagement_id: int | None = Field(None, description="the engagement it funded, once indexed")


class CustomOffersPublic(Page[CustomOfferPublic]):
    """Offers you made or received, newest first."""


class CustomOfferCancelled(BaseModel):
    offer: CustomOfferPublic
    tx: PreparedTx | None = Field(
        None,
        description="cancelOffer(nonce), once it was signed: the learner holds the signature, so only the "
        "chain can make it unusable for certain (the app refuses to fund it from now on)",
    )
