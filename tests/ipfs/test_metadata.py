"""Metadata documents: canonical bytes, stable digests, no personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ipfs import metadata as md
from ipfs.cid import cid_to_digest

HOLDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ISSUER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"


def credential(name: str = "Solidity Developer") -> md.CredentialMetadata:
    return md.CredentialMetadata(
        name=name,
        description="Completed a paid mentorship in Solidity",
        skill="solidity",
        attributes=[md.Attribute(trait_type="level", value="advanced")],
        credential=md.OpenBadgeCredential(
            issuer=md.IssuerProfile(id=md.did_pkh(31337, ISSUER), name="Acme Academy"),
            validFrom=datetime(2026, 11, 1, tzinfo=UTC),
            credentialSubject=md.AchievementSubject(
                id=md.did_pkh(31337, HOLDER),
                achievement=md.Achievement(
                    id="https://skillchain.example/skills/solidity",
                    name="Solidity",
                    description="Writes secure contracts",
                    criteria=md.Criteria(narrative="Delivered three audited milestones"),
                ),
            ),
        ),
    )


def test_canonical_json_is_stable_and_sorted() -> None:
    doc = credential()
    assert doc.to_bytes() == credential().to_bytes()
    text = doc.to_bytes().decode()
    plain = doc.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert text == json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert '"@context"' in text and "did:pkh:eip155:31337:" + HOLDER in text


def test_digest_and_cid_agree() -> None:
    doc = credential()
    assert cid_to_digest(doc.cid()) == doc.digest()
    assert doc.cid().startswith("bafkrei")
    assert credential("Other").digest() != doc.digest()


@pytest.mark.parametrize("field", ["email", "phone", "legal_name", "full_name", "address_line"])
def test_no_personal_fields_exist_or_are_accepted(field: str) -> None:
    for model in (md.CredentialMetadata, md.ReviewComment, md.EngagementTerms, md.Deliverable, md.Evidence):
        assert field not in model.model_fields
    data = md.ReviewComment(chainId=1, engagementId=1, reviewer=HOLDER, text="great").model_dump()
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        md.ReviewComment.model_validate(data | {field: "x"})


@pytest.mark.parametrize("text", ["mail me at jane.doe@example.com", "call +44 20 7946 0958 today"])
def test_contact_data_in_free_text_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="never goes to IPFS"):
        md.ReviewComment(chainId=1, engagementId=1, reviewer=HOLDER, text=text)


def test_identifiers_are_not_mistaken_for_phone_numbers() -> None:
    reason = md.RevocationReason(chainId=1, tokenId=str(2**255 + 12345), reason="issued in error")
    assert reason.digest()
