"""What the offer routes take and return. uint256 and uint64 values travel as decimal strings: a
JavaScript number loses precision above 2^53, and voucher and offer nonces are 128-bit."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from api.models import Address, HexSignature, MilestoneIn, Name, SkillSlug, Strict, Text, Uint256Str

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
