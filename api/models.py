"""Request and response models: one per direction; requests forbid unknown fields."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Literal

from eth_utils.address import is_address, is_checksum_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from api.pagination import Page
from chain.txbuilder import PreparedTx


def _checksummed(value: str) -> str:
    if not is_address(value):
        raise ValueError("not a 0x-prefixed 20-byte address")
    digits = value[2:]
    # All lower (or all upper) case carries no checksum; mixed case must be a correct EIP-55 one.
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(value):
        raise ValueError("wrong EIP-55 checksum (mixed-case addresses must be checksummed exactly)")
    return str(to_checksum_address(value))


Address = Annotated[
    str,
    Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]),
    AfterValidator(_checksummed),
]
Uint256Str = Annotated[
    str, Field(pattern=r"^[0-9]{1,78}$", description="a base-unit amount as a decimal string")
]
# Bidirectional overrides and isolates can make a name read as something else ("gnp.exe" shown as
# "exe.png"); zero-width characters can make a name look empty or like another. Refused in names.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_INVISIBLE = re.compile("[\\s\u00ad\u180e\u200b-\u200d\u2060\ufeff]+")


def _name_rules(min_length: int, max_length: int) -> AfterValidator:
    """NFKC-normalise, refuse bidi controls and invisible-only text, then check the length again:
    NFKC can turn one character into eighteen, past the column's size."""

    def clean(value: str) -> str:
        value = unicodedata.normalize("NFKC", value).strip()
        if _BIDI_CONTROLS.search(value):
            raise ValueError("must not contain bidirectional control characters")
        if not _INVISIBLE.sub("", value):
            raise ValueError("must contain visible characters")
        if not min_length <= len(value) <= max_length:
            raise ValueError(f"must be {min_length} to {max_length} characters once normalised")
        return value

    return AfterValidator(clean)


# Titles and display names: NFKC-normalised, no bidi controls, not invisible-only, length checked after.
Name = Annotated[str, Field(min_length=1, max_length=200), _name_rules(1, 200)]
Name120 = Annotated[str, Field(min_length=1, max_length=120), _name_rules(1, 120)]
Title120 = Annotated[str, Field(min_length=3, max_length=120), _name_rules(3, 120)]
DisplayName = Annotated[str, Field(min_length=1, max_length=80), _name_rules(1, 80)]

HexSignature = Annotated[
    str,
    Field(
        pattern=r"^0x([0-9a-fA-F]{2})+$",
        min_length=2 + 2 * 64,
        max_length=2 + 2 * 8192,
        description="0x-hex bytes, even length: a 65-byte ECDSA signature, or a contract wallet's "
        "(passkey and multisig signatures run to kilobytes)",
    ),
]
Cid = Annotated[str, Field(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9]+$")]
SkillSlug = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z0-9-]+$")]
Lang = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
Text = Annotated[str, Field(max_length=5000)]


class ErrorPublic(BaseModel):
    """Every error the API raises itself: a sentence saying what is wrong."""

    detail: str


ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic, "description": text}
    for code, text in {
        400: "the request is well-formed but not acceptable (the detail says why)",
        401: "not signed in, or the session ended",
        403: "signed in, but not allowed to touch this object",
        404: "no such object",
        409: "the object is not in a state that allows this",
        413: "request body too large",
        429: "too many requests",
        503: "a dependency (chain deployment) is not available yet",
    }.items()
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ profiles


class ProfileUpdate(Strict):
    display_name: DisplayName
    bio: Text = ""
    skills: list[SkillSlug] = Field(default_factory=list, max_length=30)
    hourly_rate: Decimal | None = Field(None, ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=2)
    languages: list[Lang] = Field(default_factory=list, max_length=10)
    timezone: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$")
    avatar_cid: Cid | None = None


class ProfilePublic(BaseModel):
    address: str
    display_name: str
    bio: str
    skills: list[str]
    hourly_rate: Decimal | None
    languages: list[str]
    timezone: str | None
    avatar_cid: str | None


class ReputationPublic(BaseModel):
    as_provider_count: int
    as_provider_average: float | None
    as_client_count: int
    as_client_average: float | None


class CredentialSummary(BaseModel):
    chain_id: int
    token_id: str
    issuer: str
    skill_id: str
    skill: str | None
    issued_at: int
    expires_at: int
    revoked: bool


class UserPublic(BaseModel):
    address: str
    avatar_url: str | None = Field(
        None, description="their uploaded picture, if any (else draw an identicon)"
    )
    profile: ProfilePublic | None
    reputation: ReputationPublic
    credentials: list[CredentialSummary]


# ------------------------------------------------------------------ listings


class SessionOffering(Strict):
    """A listing's bookable session: length, buffers, notice, horizon, how starts are spaced."""

    duration_minutes: int = Field(ge=15, le=480, multiple_of=5)
    buffer_minutes: int = Field(0, ge=0, le=240, multiple_of=5, description="kept free before and after")
    notice_minutes: int = Field(
        720, ge=0, le=60 * 24 * 30, multiple_of=5, description="the earliest a session can start"
    )
    horizon_days: int = Field(60, ge=1, le=365, description="how far ahead it can be booked")
    step_minutes: int | None = Field(
        None, ge=5, le=480, multiple_of=5, description="between possible starts (default: the duration)"
    )
    booking: Literal["instant", "request"] = Field(
        "request", description="instant: the mentor's standing signed offer; request: the mentor accepts each"
    )
    free_cancel_hours: int = Field(
        24,
        ge=0,
        le=24 * 30,
        description="the cancellation policy: the learner may cancel free of charge until this many hours "
        "before the session (0: until it starts); later, the session is paid",
    )


ListingCurrency = Literal["USD", "EUR", "GBP", "INR", "ETH"]


class ListingCreate(Strict):
    kind: Literal["offer", "request"]
    skill: SkillSlug
    title: Title120
    description: Text
    price: Decimal = Field(ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=2)
    currency: ListingCurrency = Field(
        "USD", description="fiat prices are converted into the paying token through CODE/USD price feeds"
    )
    languages: list[Lang] = Field(default_factory=lambda: ["en"], min_length=1, max_length=10)
    timezone: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$")
    session: SessionOffering | None = Field(None, description="bookable sessions; omit for custom work")


class ListingUpdate(Strict):
    title: Title120 | None = None
    description: Text | None = None
    price: Decimal | None = Field(None, ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=2)
    languages: list[Lang] | None = Field(None, min_length=1, max_length=10)
    timezone: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$")
    active: StrictBool | None = None  # true or false, never 0/1 or "yes"
    session: SessionOffering | None = Field(None, description="replace the session terms")


class ListingPublic(BaseModel):
    id: int
    owner: str
    kind: str
    skill: str
    title: str
    description: str
    price: Decimal
    currency: str
    languages: list[str]
    timezone: str | None
    active: bool
    owner_rating: float | None
    session: SessionOffering | None = None
    next_free_at: int | None = Field(
        None, description="with `available_days`: the first free slot's start (unix seconds)"
    )
    owner_avatar: str | None = Field(None, description="the owner's uploaded picture, if any")
    owner_name: str | None = Field(None, description="the owner's profile name, if they wrote one")
    owner_rating_count: int = Field(0, description="how many reviews `owner_rating` averages")


class ListingsPublic(Page[ListingPublic]):
    """Listings, newest first."""


# ------------------------------------------------------------------ engagements


class MilestoneIn(Strict):
    title: Name
    description: Text = ""
    amount: Uint256Str
    due_date: int = Field(
        gt=0, lt=2**32, description="unix seconds (the escrow stores them in 32 bits: before 2106)"
    )


class EngagementPrepare(Strict):
    provider: Address
    token: Literal["ETH"] | Address = "ETH"
    title: Name
    description: Text = ""
    skill: SkillSlug
    milestones: list[MilestoneIn] = Field(min_length=1, max_length=16)
    review_window: int = Field(86400, ge=3600, le=30 * 86400)
    arbiter: Address | None = None


class PreparedWithDocument(BaseModel):
    tx: PreparedTx
    document_cid: str | None = None
    digest: str | None = None
    approval: PreparedTx | None = Field(
        None,
        description="a token payment's ERC-20 approve, to send before `tx` (null: ETH, or the allowance "
        "already covers it); `tx` was simulated as if it had been sent",
    )


class PreparedFunding(BaseModel):
    tx: PreparedTx
    approval: PreparedTx | None = Field(
        None,
        description="a token payment's ERC-20 approve, to send before `tx` (null: ETH, or the allowance "
        "already covers it); `tx` was simulated as if it had been sent",
    )


class DeliverableIn(Strict):
    summary: Text = Field(min_length=1)
    files: list[Cid] = Field(default_factory=list, max_length=50)


class EvidenceIn(Strict):
    statement: Text = Field(min_length=1)
    files: list[Cid] = Field(default_factory=list, max_length=50)


class ResolveIn(Strict):
    provider_share_bps: int = Field(ge=0, le=10_000)


class WithdrawIn(Strict):
    token: Literal["ETH"] | Address = "ETH"
    to: Address | None = Field(None, description="send it to this address instead of your own (withdrawTo)")


class ReviewPrepare(Strict):
    engagement_id: int = Field(ge=1, lt=2**63)
    rating: int = Field(ge=1, le=5)
    comment: Text = ""


class MilestonePublic(BaseModel):
    index: int
    amount: str
    due_date: int
    releasable_at: int | None
    state: str
    deliverable_digest: str | None
    frozen: bool = Field(
        description="Covered by the open dispute: only the arbiter (or the timeout) settles it"
    )
    provider_share_bps: int | None = Field(description="A resolved milestone's provider share")
    deliverable_cid: str | None = Field(
        None,
        description="the submitted deliverable document on IPFS (GET /ipfs/{cid}), when this API stored it",
    )


class EngagementPublic(BaseModel):
    chain_id: int
    id: int
    client: str
    provider: str
    payer: str
    token: str
    arbiter: str
    fee_bps: int
    review_window: int
    terms_digest: str
    terms_cid: str | None = Field(
        None,
        description="the terms (title, description, milestone titles) on IPFS, when this API stored it",
    )
    total_amount: str
    status: str = Field(description="requested, active, disputed, settled, withdrawn or declined")
    accepted: bool = Field(description="The provider agreed: accepted the request, or signed the offer")
    offer_nonce: str | None = Field(description="The provider's signed offer it was funded from")
    booking_ref: str | None = Field(description="The off-chain booking it pays for (from OfferUsed)")
    starts_at: int | None = Field(description="A session's start (unix seconds)")
    booking_id: str | None = Field(
        None, description="the session booking it pays for (its room: /rooms/{booking_id}/ws), if any"
    )
    session_starts_at: int | None = Field(
        None, description="that booking's start now (a reschedule moves it; `starts_at` is the funded one)"
    )
    reviewed_by: list[str] = Field(
        default_factory=list, description="who has reviewed it (one review per side, ever)"
    )
    paid: bool
    disputed_at: int | None
    milestones: list[MilestonePublic]


class EngagementsPublic(Page[EngagementPublic]):
    """Engagements, newest first."""


class EvidencePublic(BaseModel):
    id: int
    author: str
    cid: str
    created_at: int


class EvidenceList(Page[EvidencePublic]):
    """Evidence of a dispute, oldest first."""


class ReviewPublic(BaseModel):
    engagement_id: int
    reviewer: str
    subject: str
    role: str
    rating: int
    comment_digest: str
    comment: str | None = Field(
        None, description="the comment's text, read from IPFS and checked against its digest (None if none)"
    )
    flagged: bool


class ReviewsPublic(Page[ReviewPublic]):
    """Reviews received, newest engagement first, with two averages over all of them."""

    onchain_average: float | None = Field(description="plain average of on-chain ratings as provider")
    fraud_discounted_average: float | None = Field(
        description="average after discounting reviews flagged by the fraud signals (matching)"
    )
