"""What verifying a credential means, shared by the API (from the read model) and by
`skillchain verify` (straight from any RPC and IPFS gateway, no Skillchain server involved)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ipfs.cid import digest_to_cid


class OnChainProof(BaseModel):
    chain_id: int
    contract: str
    block_number: int | None
    transaction: str | None


class Verdict(BaseModel):
    """The answer a verifier gets. `valid` covers existence, revocation, expiry and the metadata's
    integrity; `issuer_accredited` is reported separately (a credential issued while accredited stays
    valid; whether that is enough is the verifier's policy)."""

    chain_id: int
    token_id: str
    exists: bool
    valid: bool
    reasons: list[str]
    holder: str | None = None
    issuer: str | None = None
    issuer_accredited: bool | None = None
    skill_id: str | None = None
    issued_at: int | None = None
    expires_at: int | None = None
    revoked: bool = False
    revoke_reason_digest: str | None = None
    engagement_id: int | None = None
    metadata_cid: str | None = None
    metadata: dict[str, Any] | None = None
    proof: OnChainProof | None = None


def check_metadata(
    token_id: int, fetch: Callable[[str], bytes | None]
) -> tuple[str, dict[str, Any] | None, str | None]:
    """Fetch the metadata by the CID its token id implies and check it hashes to the id.
    Returns (cid, parsed metadata or None, problem or None)."""
    digest = token_id.to_bytes(32, "big")
    cid = digest_to_cid(digest)
    try:
        data = fetch(cid)
    except Exception as exc:  # noqa: BLE001 - any fetch failure means "could not get the metadata"
        return cid, None, f"metadata unavailable ({type(exc).__name__})"
    if data is None:
        return cid, None, "metadata missing"
    if hashlib.sha256(data).digest() != digest:
        return cid, None, "metadata digest mismatch"
    try:
        parsed = json.loads(data)
    except ValueError:
        return cid, None, "metadata is not JSON"
    return cid, parsed if isinstance(parsed, dict) else None, None


def _metadata_issuer(metadata: dict[str, Any] | None) -> str | None:
    """The issuer address a credential document names (its did:pkh), if it names one."""
    try:
        did = metadata["credential"]["issuer"]["id"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    return did.rsplit(":", 1)[-1] if isinstance(did, str) and did.startswith("did:pkh:") else None


def verdict(
    *,
    chain_id: int,
    token_id: int,
    found: bool,
    holder: str | None = None,
    issuer: str | None = None,
    issuer_accredited: bool | None = None,
    skill_id: str | None = None,
    issued_at: int | None = None,
    expires_at: int | None = None,
    revoked: bool = False,
    revoke_reason_digest: str | None = None,
    engagement_id: int | None = None,
    fetch: Callable[[str], bytes | None] | None = None,
    proof: OnChainProof | None = None,
    now: int | None = None,
) -> Verdict:
    if not found:
        return Verdict(
            chain_id=chain_id, token_id=str(token_id), exists=False, valid=False, reasons=["not found"]
        )
    reasons = []
    if revoked:
        reasons.append("revoked")
    now = int(time.time()) if now is None else now
    if expires_at and now >= expires_at:
        reasons.append("expired")
    cid, metadata, problem = (
        check_metadata(token_id, fetch)
        if fetch
        else (digest_to_cid(token_id.to_bytes(32, "big")), None, None)
    )
    if problem:
        reasons.append(problem)
    named = _metadata_issuer(metadata)
    if named is not None and issuer is not None and named.lower() != issuer.lower():
        # Someone issued a digest whose document names another issuer (say, by taking it first).
        reasons.append("metadata names another issuer")
    return Verdict(
        chain_id=chain_id,
        token_id=str(token_id),
        exists=True,
        valid=not reasons,
        reasons=reasons,
        holder=holder,
        issuer=issuer,
        issuer_accredited=issuer_accredited,
        skill_id=skill_id,
        issued_at=issued_at,
        expires_at=expires_at,
        revoked=revoked,
        revoke_reason_digest=revoke_reason_digest,
        engagement_id=engagement_id or None,
        metadata_cid=cid,
        metadata=metadata,
        proof=proof,
    )
