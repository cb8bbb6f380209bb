"""Documents that live on IPFS while the contracts keep their 32-byte digests.

Each is serialised as canonical JSON (RFC 8785), so the same document always has the same bytes and
digest. Nothing personal goes here: no e-mail, phone or legal-name fields exist, every model forbids
unknown fields, and free text that contains an e-mail address or a phone number is refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

import rfc8785
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ipfs.cid import document_cid, document_digest

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\d[\d ().-]{8,}\d")
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]


def _no_contact_data(value: str) -> str:
    if _EMAIL.search(value) or _PHONE.search(value):
        raise ValueError("looks like an e-mail address or phone number; such data never goes to IPFS")
    return value


Text = Annotated[str, AfterValidator(_no_contact_data)]
"""Free text: checked for contact data (identifiers such as addresses and ids are not free text)."""
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]


class PublicDocument(BaseModel):
    """Base of every IPFS document: strict, and free of personal contact data."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    def to_bytes(self) -> bytes:
        """Canonical JSON (RFC 8785) of the document."""
        return rfc8785.dumps(self.model_dump(mode="json", by_alias=True, exclude_none=True))

    def digest(self) -> bytes:
        """The sha2-256 digest the contracts store; refuses documents over one block (256 KiB)."""
        return document_digest(self.to_bytes())

    def cid(self) -> str:
        return document_cid(self.to_bytes())


def did_pkh(chain_id: int, address: str) -> str:
    """The holder's decentralised identifier: did:pkh:eip155:<chainId>:<address>."""
    return f"did:pkh:eip155:{chain_id}:{address}"


class Attribute(PublicDocument):
    trait_type: Text = Field(max_length=100)
    value: Text | int | float


class Criteria(PublicDocument):
    narrative: Text = Field(max_length=5000)


class Achievement(PublicDocument):
    id: str = Field(max_length=300, description="URI of the achievement (e.g. skill page)")
    type: list[str] = Field(default_factory=lambda: ["Achievement"])
    name: Text = Field(max_length=200)
    description: Text = Field(max_length=5000)
    criteria: Criteria


class AchievementSubject(PublicDocument):
    id: str = Field(pattern=r"^did:pkh:eip155:\d+:0x[0-9a-fA-F]{40}$")
    type: list[str] = Field(default_factory=lambda: ["AchievementSubject"])
    achievement: Achievement


class IssuerProfile(PublicDocument):
    id: str = Field(pattern=r"^did:pkh:eip155:\d+:0x[0-9a-fA-F]{40}$")
    type: list[str] = Field(default_factory=lambda: ["Profile"])
    name: Text = Field(max_length=200, description="organisation or public display name")


class OpenBadgeCredential(PublicDocument):
    """An Open Badges 3.0 / W3C Verifiable Credential shaped achievement (anchored on-chain, unsigned)."""

    context: list[str] = Field(
        default_factory=lambda: [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        alias="@context",
    )
    type: list[str] = Field(default_factory=lambda: ["VerifiableCredential", "OpenBadgeCredential"])
    issuer: IssuerProfile
    validFrom: datetime
    validUntil: datetime | None = None
    credentialSubject: AchievementSubject


class CredentialMetadata(PublicDocument):
    """ERC-721 metadata JSON of a credential; its digest is the token id."""

    name: Text = Field(max_length=200)
    description: Text = Field(max_length=5000)
    image: str | None = Field(None, max_length=300, description="ipfs:// or https:// URI")
    attributes: list[Attribute] = Field(default_factory=list, max_length=50)
    skill: str = Field(max_length=100, description="canonical skill slug; skillId = keccak256(slug)")
    credential: OpenBadgeCredential


class ReviewComment(PublicDocument):
    kind: Literal["skillchain/review-comment"] = "skillchain/review-comment"
    chainId: int
    engagementId: int = Field(ge=1)
    reviewer: Address
    text: Text = Field(max_length=5000)


class MilestoneTerms(PublicDocument):
    title: Text = Field(max_length=200)
    description: Text = Field("", max_length=5000)


class EngagementTerms(PublicDocument):
    kind: Literal["skillchain/engagement-terms"] = "skillchain/engagement-terms"
    title: Text = Field(max_length=200)
    description: Text = Field(max_length=10000)
    skill: str = Field(max_length=100)
    client: Address
    provider: Address
    milestones: list[MilestoneTerms] = Field(min_length=1, max_length=16)
    nonce: Hex32 | None = Field(None, description="makes otherwise identical terms distinct")


class Deliverable(PublicDocument):
    kind: Literal["skillchain/deliverable"] = "skillchain/deliverable"
    chainId: int
    engagementId: int = Field(ge=1)
    milestoneIndex: int = Field(ge=0, le=15)
    summary: Text = Field(max_length=10000)
    files: list[str] = Field(default_factory=list, max_length=50, description="CIDs of attached files")


class Evidence(PublicDocument):
    kind: Literal["skillchain/dispute-evidence"] = "skillchain/dispute-evidence"
    chainId: int
    engagementId: int = Field(ge=1)
    author: Address
    statement: Text = Field(max_length=20000)
    files: list[str] = Field(default_factory=list, max_length=50)


class RevocationReason(PublicDocument):
    kind: Literal["skillchain/revocation-reason"] = "skillchain/revocation-reason"
    chainId: int
    tokenId: str = Field(pattern=r"^\d+$")
    reason: Text = Field(max_length=5000)
