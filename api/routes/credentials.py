"""Credentials: issuing (transaction or EIP-712 voucher), revocation, issuer profiles, and public
verification an employer can use without a wallet — or without us (`skillchain verify`)."""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, insert, select, update

from api.auth.ratelimit import public_write_limited
from api.auth.siwe import personal_message_hash, recover_address
from api.deps import (
    AdminSession,
    ChainDep,
    ConnDep,
    CurrentSession,
    DocumentQuota,
    SettingsDep,
    StoreDep,
    charge_documents,
)
from api.documents import document_input, store_document
from api.models import ERRORS, Address, Cid, HexSignature, Name, Name120, Strict
from api.pagination import CursorQuery, LimitQuery, Page, cursor_keys, page_of
from api.queries import credentials_of
from api.skills import by_id, catalog
from chain.credential_check import OnChainProof, Verdict, verdict
from chain.credential_ref import caip19
from chain.errors import TxWouldRevert
from chain.txbuilder import PreparedTx
from chain.vouchers import voucher_typed_data
from db.chain import credentials, engagements, issuers, reviews
from db.credentials import issuer_profiles, presentation_challenges, vouchers
from ipfs import metadata as md
from ipfs.errors import IpfsError
from ipfs.store import ContentStore, EmbeddedStore

router = APIRouter(tags=["credentials"], responses=ERRORS)
TokenId = Annotated[
    str, Path(pattern=r"^[0-9]{1,78}$", description="decimal token id (= the metadata digest)")
]


class CredentialIn(Strict):
    holder: Address
    skill: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9-]+$")
    name: Name
    description: str = Field("", max_length=5000)
    criteria: str = Field("Demonstrated in a Skillchain engagement", max_length=5000)
    expires_at: int = Field(0, ge=0, lt=2**32, description="unix seconds, 0 for never")
    engagement_id: int = Field(0, ge=0, lt=2**63, description="the paid engagement it comes from, 0 for none")
    image: str | None = Field(None, max_length=300, pattern=r"^(ipfs|https)://")


class PreparedCredential(BaseModel):
    tx: PreparedTx
    token_id: str
    metadata_cid: str
    share_url: str


class BatchIn(Strict):
    items: list[CredentialIn] = Field(min_length=1, max_length=200)


class BatchItemResult(BaseModel):
    index: int
    ok: bool
    result: PreparedCredential | None = None
    error: str | None = None


class VoucherIn(CredentialIn):
    valid_for: int = Field(
        7 * 86400, ge=60, le=365 * 86400, description="seconds the voucher stays redeemable"
    )


class VoucherPublic(BaseModel):
    id: int
    issuer: str
    recipient: str
    token_id: str
    metadata_cid: str
    typed_data: dict[str, Any] = Field(description="the eth_signTypedData_v4 payload for the issuer's wallet")
    signed: bool
    redeem_tx: PreparedTx | None = None


class SignatureIn(Strict):
    signature: HexSignature


class RevokeIn(Strict):
    reason: str = Field(min_length=1, max_length=5000)


class IssuerProfileIn(Strict):
    name: Name120
    website: str | None = Field(None, max_length=200, pattern=r"^https://")
    logo_cid: Cid | None = None


class IssuerPublic(BaseModel):
    address: str
    accredited: bool
    name: str | None
    name_verified: bool = Field(
        description="an admin confirmed the name; otherwise it is self-declared and shown as such"
    )
    website: str | None
    logo_cid: str | None


class ChallengePublic(BaseModel):
    challenge: str
    message: str = Field(description="sign this exact text with personal_sign")
    expires_in: int


class PresentationIn(Strict):
    address: Address
    challenge: str = Field(pattern=r"^[0-9a-f]{32}$")
    signature: HexSignature


class PresentationPublic(BaseModel):
    holder: str
    controls_address: bool
    credentials: list[Verdict]


# ------------------------------------------------------------------ helpers


def _accredited(conn: ConnDep, chain_id: int, address: str) -> bool:
    row = conn.execute(
        select(issuers.c.accredited).where(issuers.c.chain_id == chain_id, issuers.c.address == address)
    ).first()
    return bool(row and row.accredited)


def _issuer_name(conn: ConnDep, address: str) -> str:
    row = conn.execute(select(issuer_profiles.c.name).where(issuer_profiles.c.address == address)).first()
    return row.name if row else address


def _metadata(body: CredentialIn, issuer: str, issuer_name: str, chain_id: int) -> md.CredentialMetadata:
    if body.skill not in catalog():
        raise HTTPException(400, f"unknown skill {body.skill!r} (see GET /skills)")
    now = datetime.now(UTC).replace(microsecond=0)
    with document_input():
        return _credential_document(body, issuer, issuer_name, chain_id, now)


def _credential_document(
    body: CredentialIn, issuer: str, issuer_name: str, chain_id: int, now: datetime
) -> md.CredentialMetadata:
    return md.CredentialMetadata(
        name=body.name,
        description=body.description or body.name,
        image=body.image,
        skill=body.skill,
        attributes=[md.Attribute(trait_type="skill", value=body.skill)],
        credential=md.OpenBadgeCredential(
            issuer=md.IssuerProfile(id=md.did_pkh(chain_id, issuer), name=issuer_name),
            validFrom=now,
            validUntil=datetime.fromtimestamp(body.expires_at, UTC) if body.expires_at else None,
            credentialSubject=md.AchievementSubject(
                id=md.did_pkh(chain_id, body.holder),
                achievement=md.Achievement(
                    id=f"urn:skillchain:skill:{body.skill}",
                    name=catalog()[body.skill].name,
                    description=body.description or body.name,
                    criteria=md.Criteria(narrative=body.criteria),
                ),
            ),
        ),
    )


def _check_engagement(conn: ConnDep, chain_id: int, engagement_id: int, issuer: str, holder: str) -> None:
    if engagement_id == 0:
        return
    e = (
        conn.execute(
            select(engagements).where(engagements.c.chain_id == chain_id, engagements.c.id == engagement_id)
        )
        .mappings()
        .first()
    )
    if e is None:
        raise HTTPException(400, f"engagement {engagement_id} is unknown")
    if e["provider"] != issuer:
        raise HTTPException(400, "the issuer was not the engagement's provider")
    if e["client"] != holder:
        raise HTTPException(400, "the holder was not the engagement's client")
    if e["status"] != "settled" or not e["paid"]:
        raise HTTPException(400, "the engagement must be settled with at least one milestone paid")


def _prepare(
    body: CredentialIn, issuer: str, conn: ConnDep, chain: ChainDep, store: ContentStore, request: Request
) -> PreparedCredential:
    if body.expires_at and body.expires_at <= time.time():
        raise HTTPException(400, "expires_at must be in the future (or 0 for never)")
    _check_engagement(conn, chain.chain_id, body.engagement_id, issuer, body.holder)
    doc = _metadata(body, issuer, _issuer_name(conn, issuer), chain.chain_id)
    with document_input():
        digest = doc.digest()
    cid, _ = store_document(store, doc, conn=conn, kind="credential")
    token_id = str(int.from_bytes(digest, "big"))
    skill = catalog()[body.skill].id
    tx = chain.builder.build(
        "SkillCredential",
        "issue",
        [body.holder, skill, digest, body.expires_at, body.engagement_id],
        description=f"Issue '{body.name}' to {body.holder}",
        sender=issuer,
    )
    share = share_url(request, chain.chain_id, chain.builder.address("SkillCredential"), token_id)
    return PreparedCredential(tx=tx, token_id=token_id, metadata_cid=cid, share_url=share)


def _require_issuer(conn: ConnDep, chain: ChainDep, address: str) -> None:
    if not _accredited(conn, chain.chain_id, address):
        raise HTTPException(403, "only accredited issuers (ISSUER_ROLE, as indexed) may issue")


# ------------------------------------------------------------------ issuing


@router.post(
    "/credentials/prepare",
    response_model=PreparedCredential,
    summary="Metadata to IPFS + issue tx",
    dependencies=[DocumentQuota],
)
def prepare_credential(
    body: CredentialIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
) -> PreparedCredential:
    _require_issuer(conn, chain, session.address)
    return _prepare(body, session.address, conn, chain, store, request)


@router.post(
    "/credentials/batch",
    response_model=list[BatchItemResult],
    summary="A cohort in one call, per-item results (each item counts against the document quota)",
)
def prepare_batch(
    body: BatchIn, request: Request, session: CurrentSession, conn: ConnDep, chain: ChainDep, store: StoreDep
) -> list[BatchItemResult]:
    _require_issuer(conn, chain, session.address)
    charge_documents(request, session.address, len(body.items))
    results = []
    for i, item in enumerate(body.items):
        try:
            results.append(
                BatchItemResult(
                    index=i, ok=True, result=_prepare(item, session.address, conn, chain, store, request)
                )
            )
        except HTTPException as exc:
            results.append(BatchItemResult(index=i, ok=False, error=str(exc.detail)))
        except TxWouldRevert as exc:  # one item the chain would refuse does not sink the cohort
            results.append(BatchItemResult(index=i, ok=False, error=str(exc)))
    return results


def _typed_data(chain: ChainDep, message: dict[str, Any]) -> dict[str, Any]:
    return voucher_typed_data(chain.chain_id, chain.builder.address("SkillCredential"), message)


def _voucher_public(row: Any, chain: ChainDep) -> VoucherPublic:
    message = json.loads(row["voucher"])
    message.setdefault("issuer", row["issuer"])  # rows written before vouchers named their issuer
    redeem = None
    if row["signature"]:
        fields = [
            message["issuer"],
            message["recipient"],
            message["skillId"],
            message["metadataDigest"],
            int(message["expiresAt"]),
            int(message["engagementId"]),
            int(message["nonce"]),
            int(message["validUntil"]),
        ]
        redeem = chain.builder.build(
            "SkillCredential",
            "issueWithVoucher",
            [fields, row["issuer"], row["signature"]],
            description="Redeem your credential voucher",
        )
    return VoucherPublic(
        id=row["id"],
        issuer=row["issuer"],
        recipient=row["recipient"],
        token_id=str(int(message["metadataDigest"], 16)),
        metadata_cid=row["metadata_cid"],
        # Every integer as a decimal string: a nonce above 2^53 loses digits in a browser's JSON.parse
        # (and the signature then covers another voucher).
        typed_data=_typed_data(chain, {k: str(v) if isinstance(v, int) else v for k, v in message.items()}),
        signed=bool(row["signature"]),
        redeem_tx=redeem,
    )


@router.post(
    "/credentials/vouchers",
    response_model=VoucherPublic,
    status_code=201,
    summary="Create a voucher for the issuer to sign (eth_signTypedData_v4)",
    dependencies=[DocumentQuota],
)
def create_voucher(
    body: VoucherIn, session: CurrentSession, conn: ConnDep, chain: ChainDep, store: StoreDep
) -> VoucherPublic:
    _require_issuer(conn, chain, session.address)
    if body.expires_at and body.expires_at <= time.time() + body.valid_for:
        raise HTTPException(400, "expires_at must be after the voucher's validity ends (or 0 for never)")
    _check_engagement(conn, chain.chain_id, body.engagement_id, session.address, body.holder)
    doc = _metadata(body, session.address, _issuer_name(conn, session.address), chain.chain_id)
    digest = doc.digest()
    valid_until = int(time.time()) + body.valid_for
    cid, _ = store_document(store, doc, conn=conn, kind="voucher", keep_until=valid_until)
    message = {
        "issuer": session.address,
        "recipient": body.holder,
        "skillId": catalog()[body.skill].id,
        "metadataDigest": "0x" + digest.hex(),
        "expiresAt": body.expires_at,
        "engagementId": body.engagement_id,
        "nonce": int.from_bytes(os.urandom(16), "big"),
        "validUntil": valid_until,
    }
    result = conn.execute(
        insert(vouchers).values(
            chain_id=chain.chain_id,
            issuer=session.address,
            recipient=body.holder,
            voucher=json.dumps(message),
            metadata_cid=cid,
            created_at=int(time.time()),
        )
    )
    (voucher_id,) = result.inserted_primary_key or (None,)
    row = conn.execute(select(vouchers).where(vouchers.c.id == voucher_id)).mappings().one()
    return _voucher_public(row, chain)


@router.put("/credentials/vouchers/{voucher_id}/signature", response_model=VoucherPublic)
def sign_voucher(
    voucher_id: Annotated[int, Path(ge=1, lt=2**31)],
    body: SignatureIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
) -> VoucherPublic:
    row = conn.execute(select(vouchers).where(vouchers.c.id == voucher_id)).mappings().first()
    if row is None:
        raise HTTPException(404, "no such voucher")
    if row["issuer"] != session.address:
        raise HTTPException(403, "only the voucher's issuer signs it")
    message = json.loads(row["voucher"])
    message.setdefault("issuer", row["issuer"])
    signable = encode_typed_data(full_message=_typed_data(chain, message))
    digest = bytes(keccak(b"\x19\x01" + signable.header + signable.body))
    sig = bytes.fromhex(body.signature[2:])
    ok = recover_address(digest, sig) == row["issuer"] or request.app.state.eip1271(
        chain.chain_id, row["issuer"], digest, sig
    )
    if not ok:
        raise HTTPException(400, "the signature is not the issuer's over this voucher")
    conn.execute(update(vouchers).where(vouchers.c.id == voucher_id).values(signature=body.signature))
    return _voucher_public({**row, "signature": body.signature}, chain)


class VouchersPublic(Page[VoucherPublic]):
    """Signed vouchers not redeemed yet, oldest first (`total` is null: redemption is checked per row)."""


@router.get(
    "/me/vouchers", response_model=VouchersPublic, summary="Signed vouchers waiting for you to redeem"
)
def my_vouchers(
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> VouchersPublic:
    after = cursor_keys(cursor, 1)
    last = after[0] if after else 0
    out: list[VoucherPublic] = []
    while len(out) <= limit:
        rows = (
            conn.execute(
                select(vouchers)
                .where(
                    vouchers.c.recipient == session.address,
                    vouchers.c.signature.is_not(None),
                    vouchers.c.chain_id == chain.chain_id,
                    vouchers.c.id > last,
                )
                .order_by(vouchers.c.id)
                .limit(limit + 1)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            last = row["id"]
            token = str(int(json.loads(row["voucher"])["metadataDigest"], 16))
            redeemed = conn.execute(
                select(credentials.c.token_id).where(
                    credentials.c.chain_id == chain.chain_id, credentials.c.token_id == token
                )
            ).first()
            if not redeemed:
                out.append(_voucher_public(row, chain))
    data, next_cursor = page_of(out, limit, lambda v: (v.id,))
    return VouchersPublic(data=data, next_cursor=next_cursor, total=None)


@router.post(
    "/credentials/{token_id}/revoke",
    response_model=PreparedCredential,
    summary="Reason to IPFS + revoke tx",
    dependencies=[DocumentQuota],
)
def prepare_revoke(
    token_id: TokenId,
    body: RevokeIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
    settings: SettingsDep,
) -> PreparedCredential:
    row = (
        conn.execute(
            select(credentials).where(
                credentials.c.chain_id == chain.chain_id, credentials.c.token_id == token_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise HTTPException(404, "no such credential in the read model")
    is_admin = session.address.lower() in {a.lower() for a in settings.admins}
    if row["issuer"] != session.address and not is_admin:
        raise HTTPException(403, "only the credential's issuer or an admin may revoke it")
    with document_input():
        doc = md.RevocationReason(chainId=chain.chain_id, tokenId=token_id, reason=body.reason)
    cid, _ = store_document(store, doc, conn=conn, kind="revocation")
    tx = chain.builder.build(
        "SkillCredential",
        "revoke",
        [int(token_id), doc.digest()],
        description=f"Revoke credential {token_id}",
        sender=session.address,
    )
    share = share_url(request, chain.chain_id, chain.builder.address("SkillCredential"), token_id)
    return PreparedCredential(tx=tx, token_id=token_id, metadata_cid=cid, share_url=share)


# ------------------------------------------------------------------ issuers


@router.get("/issuers/me", response_model=IssuerPublic, summary="Your issuer profile and accreditation")
def get_my_issuer_profile(session: CurrentSession, conn: ConnDep, chain: ChainDep) -> IssuerPublic:
    return get_issuer(session.address, conn, chain)


@router.put("/issuers/me", response_model=IssuerPublic, summary="Your public issuer profile")
def put_issuer_profile(
    body: IssuerProfileIn, session: CurrentSession, conn: ConnDep, chain: ChainDep
) -> IssuerPublic:
    before = (
        conn.execute(select(issuer_profiles).where(issuer_profiles.c.address == session.address))
        .mappings()
        .first()
    )
    # A confirmed name stays confirmed only while it is exactly the same name.
    keep = before is not None and before["name"] == body.name
    conn.execute(delete(issuer_profiles).where(issuer_profiles.c.address == session.address))
    conn.execute(
        insert(issuer_profiles).values(
            address=session.address,
            name=body.name,
            website=body.website,
            logo_cid=body.logo_cid,
            updated_at=int(time.time()),
            name_verified_by=before["name_verified_by"] if keep and before else None,
            name_verified_at=before["name_verified_at"] if keep and before else None,
        )
    )
    return get_issuer(session.address, conn, chain)


@router.get("/issuers/{address}", response_model=IssuerPublic)
def get_issuer(address: Annotated[Address, Path()], conn: ConnDep, chain: ChainDep) -> IssuerPublic:
    profile = (
        conn.execute(select(issuer_profiles).where(issuer_profiles.c.address == address)).mappings().first()
    )
    return IssuerPublic(
        address=address,
        accredited=_accredited(conn, chain.chain_id, address),
        name=profile["name"] if profile else None,
        name_verified=bool(profile and profile["name_verified_by"]),
        website=profile["website"] if profile else None,
        logo_cid=profile["logo_cid"] if profile else None,
    )


class IssuedCredential(BaseModel):
    token_id: str = Field(description="decimal")
    holder: str
    skill: str | None = Field(description="the catalogue slug, when the skill is in the catalogue")
    issued_at: int
    expires_at: int
    revoked: bool
    engagement_id: int


@router.get(
    "/issuers/{address}/credentials",
    response_model=Page[IssuedCredential],
    summary="Credentials an issuer issued, newest first (public: it is on-chain)",
)
def issued_by(
    address: Annotated[Address, Path()],
    conn: ConnDep,
    chain: ChainDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[IssuedCredential]:
    mine = (
        (credentials.c.chain_id == chain.chain_id) & (credentials.c.issuer == address) & ~credentials.c.burned
    )
    query = select(credentials).where(mine)
    after = cursor_keys(cursor, 2, wide_last=True)
    if after is not None:  # keyset: (issued_at, token_id) below the last row of the previous page
        at, token = after[0], str(after[1])
        query = query.where(
            (credentials.c.issued_at < at)
            | ((credentials.c.issued_at == at) & (credentials.c.token_id < token))
        )
    rows = conn.execute(
        query.order_by(credentials.c.issued_at.desc(), credentials.c.token_id.desc()).limit(limit + 1)
    ).mappings()
    skills = by_id()
    items = [
        IssuedCredential(
            token_id=r["token_id"],
            holder=r["holder"],
            skill=skills[r["skill_id"]].slug if r["skill_id"] in skills else None,
            issued_at=r["issued_at"],
            expires_at=r["expires_at"],
            revoked=r["revoked"],
            engagement_id=r["engagement_id"],
        )
        for r in rows
    ]
    data, next_cursor = page_of(items, limit, lambda c: (c.issued_at, int(c.token_id)))
    total = conn.execute(select(func.count()).select_from(credentials).where(mine)).scalar_one()
    return Page[IssuedCredential](data=data, next_cursor=next_cursor, total=int(total))


class NameVerificationIn(Strict):
    name: Name120 = Field(description="the name being confirmed, exactly")


@router.put(
    "/admin/issuers/{address}/verified-name",
    response_model=IssuerPublic,
    tags=["admin"],
    summary="Confirm an issuer's current name (it is shown as self-declared until then)",
)
def verify_issuer_name(
    address: Annotated[Address, Path()],
    body: NameVerificationIn,
    admin: AdminSession,
    conn: ConnDep,
    chain: ChainDep,
) -> IssuerPublic:
    profile = (
        conn.execute(select(issuer_profiles).where(issuer_profiles.c.address == address)).mappings().first()
    )
    if profile is None:
        raise HTTPException(404, "this issuer has no profile")
    if profile["name"] != body.name:
        raise HTTPException(409, "the issuer's name has changed since you looked; confirm the current one")
    conn.execute(
        update(issuer_profiles)
        .where(issuer_profiles.c.address == address)
        .values(name_verified_by=admin.address, name_verified_at=int(time.time()))
    )
    return get_issuer(address, conn, chain)


@router.post(
    "/admin/issuers/{address}/{action}",
    response_model=PreparedTx,
    tags=["admin"],
    summary="Accreditation: grant or revoke ISSUER_ROLE (a tx for the admin's wallet)",
)
def prepare_accreditation(
    address: Annotated[Address, Path()],
    action: Annotated[str, Path(pattern="^(grant|revoke)$")],
    _admin: AdminSession,
    chain: ChainDep,
) -> PreparedTx:
    role = "0x" + bytes(keccak(b"ISSUER_ROLE")).hex()
    function = "grantRole" if action == "grant" else "revokeRole"
    return chain.builder.build(
        "SkillCredential",
        function,
        [role, address],
        description=f"{action} ISSUER_ROLE for {address}",
        sender=_admin.address,
    )


# ------------------------------------------------------------------ verifying (public)


def _fetch(store: ContentStore) -> Any:
    if isinstance(store, EmbeddedStore):
        return store.fetch_for_verification

    def fetch(cid: str) -> bytes | None:
        try:
            return b"".join(store.cat(cid))
        except IpfsError:
            return None

    return fetch


def _verdict(
    conn: ConnDep, store: ContentStore, chain_id: int, token_id: str, contract: str | None
) -> Verdict:
    row = (
        conn.execute(
            select(credentials).where(credentials.c.chain_id == chain_id, credentials.c.token_id == token_id)
        )
        .mappings()
        .first()
    )
    if row is None or row["burned"]:
        return verdict(chain_id=chain_id, token_id=int(token_id), found=False)
    return verdict(
        chain_id=chain_id,
        token_id=int(token_id),
        found=True,
        holder=row["holder"],
        issuer=row["issuer"],
        issuer_accredited=_accredited(conn, chain_id, row["issuer"]),
        skill_id=row["skill_id"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        revoked=row["revoked"],
        revoke_reason_digest=row["revoke_reason"],
        engagement_id=row["engagement_id"],
        fetch=_fetch(store),
        proof=OnChainProof(
            chain_id=chain_id,
            contract=contract or "",
            block_number=row["block_number"],
            transaction=row["tx_hash"],
        ),
    )


class CredentialVerification(Verdict):
    skill: str | None = None
    engagement_reviews: list[dict[str, Any]] = Field(default_factory=list)
    share_url: str | None = None
    caip19: str | None = Field(None, description="eip155:<chainId>/erc721:<contract>/<tokenId>")


def share_url(request: Request, chain_id: int, contract: str, token_id: str | int) -> str:
    """The public link an employer opens (or gives `skillchain verify`): from SKILLCHAIN_PUBLIC_URL,
    never from the request's Host header, and naming the contract so it needs nothing else."""
    base = request.app.state.settings.effective_public_url
    return f"{base}/verify/credential/{chain_id}/{token_id}?contract={contract}"


def _enrich(v: Verdict, conn: ConnDep, request: Request) -> CredentialVerification:
    out = CredentialVerification(**v.model_dump())
    skill = by_id().get(v.skill_id or "")
    out.skill = skill.slug if skill else None
    if v.engagement_id:
        rows = conn.execute(
            select(reviews).where(
                reviews.c.chain_id == v.chain_id, reviews.c.engagement_id == v.engagement_id
            )
        ).mappings()
        out.engagement_reviews = [
            {"reviewer": r["reviewer"], "role": r["role"], "rating": r["rating"]} for r in rows
        ]
    if v.proof is not None and v.proof.contract:
        out.share_url = share_url(request, v.chain_id, v.proof.contract, v.token_id)
        out.caip19 = caip19(v.chain_id, v.proof.contract, int(v.token_id))
    return out


@router.get(
    "/verify/credential/{chain_id}/{token_id}",
    response_model=CredentialVerification,
    name="verify_credential",
    summary="Is this credential valid, and why (no sign-in)",
)
def verify_credential(
    chain_id: Annotated[int, Path(ge=1, lt=2**53)],
    token_id: TokenId,
    request: Request,
    conn: ConnDep,
    store: StoreDep,
    settings: SettingsDep,
) -> CredentialVerification:
    contract = _contract_address(settings, chain_id)
    return _enrich(_verdict(conn, store, chain_id, token_id, contract), conn, request)


def _contract_address(settings: SettingsDep, chain_id: int) -> str | None:
    from chain.records import load_record, record_path

    record = load_record(
        record_path(chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir)
    )
    return record.address_of("SkillCredential") if record and "SkillCredential" in record.contracts else None


class HolderCredentials(Page[CredentialVerification]):
    """A wallet's credentials, oldest first, each verified."""


@router.get(
    "/verify/holder/{address}",
    response_model=HolderCredentials,
    summary="Every credential of a wallet",
)
def verify_holder(
    address: Annotated[Address, Path()],
    request: Request,
    conn: ConnDep,
    store: StoreDep,
    settings: SettingsDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> HolderCredentials:
    chain_id = settings.chain_id
    contract = _contract_address(settings, chain_id)
    held = (
        (credentials.c.chain_id == chain_id)
        & (credentials.c.holder == address)
        & credentials.c.burned.is_(False)
    )
    query = select(credentials.c.issued_at, credentials.c.token_id).where(held)
    after = cursor_keys(cursor, 2, wide_last=True)
    if after:
        at, token = after[0], str(after[1])
        query = query.where(
            (credentials.c.issued_at > at)
            | ((credentials.c.issued_at == at) & (credentials.c.token_id > token))
        )
    keys = conn.execute(
        query.order_by(credentials.c.issued_at, credentials.c.token_id).limit(limit + 1)
    ).all()
    page, next_cursor = page_of(list(keys), limit, lambda k: (int(k.issued_at), int(k.token_id)))
    total = conn.execute(select(func.count()).select_from(credentials).where(held)).scalar_one()
    return HolderCredentials(
        data=[_enrich(_verdict(conn, store, chain_id, k.token_id, contract), conn, request) for k in page],
        next_cursor=next_cursor,
        total=int(total),
    )


@router.get(
    "/verify/credential/{chain_id}/{token_id}/badge", summary="Open Badges 3.0 / VC JSON, anchored on-chain"
)
def badge(
    chain_id: Annotated[int, Path(ge=1, lt=2**53)],
    token_id: TokenId,
    request: Request,
    conn: ConnDep,
    store: StoreDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    v = _verdict(conn, store, chain_id, token_id, _contract_address(settings, chain_id))
    if not v.exists or v.metadata is None:
        raise HTTPException(404, "no verifiable credential with this id (" + ", ".join(v.reasons) + ")")
    document = dict(v.metadata.get("credential", {}))
    document["id"] = str(request.url_for("verify_credential", chain_id=str(chain_id), token_id=token_id))
    document["evidence"] = [
        {
            "type": ["Evidence"],
            "name": "On-chain anchor",
            "description": (
                f"ERC-721 token {token_id} of {v.proof.contract if v.proof else ''} on chain {chain_id}; "
                f"its id is the sha2-256 of ipfs://{v.metadata_cid}"
            ),
        }
    ]
    document["credentialStatus"] = {"type": "SkillchainOnChainStatus", "valid": v.valid, "reasons": v.reasons}
    return document


@router.get(
    "/verify/challenge",
    response_model=ChallengePublic,
    summary="A challenge for the candidate to sign (rate-limited per client; expires in 10 minutes)",
    dependencies=[Depends(public_write_limited)],
)
def challenge(conn: ConnDep) -> ChallengePublic:
    nonce = secrets.token_hex(16)
    now = int(time.time())
    conn.execute(delete(presentation_challenges).where(presentation_challenges.c.expires_at <= now))
    conn.execute(insert(presentation_challenges).values(nonce=nonce, expires_at=now + 600))
    return ChallengePublic(challenge=nonce, message=_presentation_text(nonce), expires_in=600)


def _presentation_text(nonce: str) -> str:
    return f"I present my Skillchain credentials.\nChallenge: {nonce}"


@router.post(
    "/verify/presentation",
    response_model=PresentationPublic,
    summary="Holder proves control, credentials listed",
)
def presentation(
    body: PresentationIn, request: Request, conn: ConnDep, store: StoreDep, settings: SettingsDep
) -> PresentationPublic:
    now = int(time.time())
    used = conn.execute(
        delete(presentation_challenges).where(
            presentation_challenges.c.nonce == body.challenge, presentation_challenges.c.expires_at > now
        )
    )
    if used.rowcount != 1:
        raise HTTPException(400, "unknown, expired or already used challenge")
    digest = personal_message_hash(_presentation_text(body.challenge))
    sig = bytes.fromhex(body.signature[2:])
    controls = recover_address(digest, sig) == body.address or bool(
        request.app.state.eip1271(settings.chain_id, body.address, digest, sig)
    )
    if not controls:
        raise HTTPException(400, "the signature does not prove control of the address")
    contract = _contract_address(settings, settings.chain_id)
    return PresentationPublic(
        holder=body.address,
        controls_address=True,
        credentials=[
            _enrich(_verdict(conn, store, settings.chain_id, c.token_id, contract), conn, request)
            for c in credentials_of(conn=conn, chain_id=settings.chain_id, holder=body.address)
        ],
    )
