"""The verifier's verdict: a squatted digest (a document naming another issuer) is not valid."""

from __future__ import annotations

import hashlib
import json

from chain.credential_check import verdict

ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
SQUATTER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _document(issuer: str) -> bytes:
    doc = {
        "name": "Solidity",
        "credential": {"issuer": {"id": f"did:pkh:eip155:31337:{issuer}", "name": "A"}},
    }
    return json.dumps(doc).encode()


def _verdict(document: bytes, on_chain_issuer: str) -> list[str]:
    token_id = int.from_bytes(hashlib.sha256(document).digest(), "big")
    v = verdict(
        chain_id=31337,
        token_id=token_id,
        found=True,
        issuer=on_chain_issuer,
        fetch=lambda _cid: document,
        now=0,
    )
    return v.reasons


def test_metadata_naming_the_on_chain_issuer_is_valid() -> None:
    assert _verdict(_document(ISSUER), ISSUER) == []
    assert _verdict(_document(ISSUER.lower()), ISSUER) == []  # address case is not a difference


def test_a_digest_taken_by_another_issuer_is_reported() -> None:
    assert _verdict(_document(ISSUER), SQUATTER) == ["metadata names another issuer"]


def test_metadata_without_an_issuer_adds_no_reason() -> None:
    assert _verdict(json.dumps({"name": "x"}).encode(), ISSUER) == []
