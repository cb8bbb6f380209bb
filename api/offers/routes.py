"""Offer routes: the provider gets typed data to sign; a client gets the transaction that funds it."""

from __future__ import annotations

import os
import time

from fastapi import APIRouter, HTTPException, Request

from api.deps import ChainDep, ConnDep, CurrentSession, DocumentQuota, SettingsDep, StoreDep, neutral_arbiter
from api.documents import document_input, store_document
from api.models import ERRORS, PreparedFunding
from api.offers import service
from api.offers.schemas import OfferFund, OfferPrepare, OfferTypedData
from api.skills import catalog
from chain.offers import ZERO_ADDRESS, Offer
from ipfs import metadata as md

router = APIRouter(tags=["offers"], responses=ERRORS)


@router.post(
    "/offers/prepare",
    response_model=OfferTypedData,
    summary="Terms to IPFS + the EIP-712 offer for the provider to sign (no transaction)",
    dependencies=[DocumentQuota],
)
def prepare_offer(
    body: OfferPrepare,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
    settings: SettingsDep,
) -> OfferTypedData:
    if body.skill not in catalog():
        raise HTTPException(400, f"unknown skill {body.skill!r} (see GET /skills)")
    if body.client == session.address:
        raise HTTPException(400, "the client must be another wallet than the provider")
    arbiter = neutral_arbiter(settings, chain, body.arbiter, (session.address, body.client))
    now = int(time.time())
    if any(m.due_date <= now for m in body.milestones):
        raise HTTPException(400, "every milestone's due date must be in the future")
    with document_input():
        terms = md.EngagementTerms(
            title=body.title,
            description=body.description,
            skill=body.skill,
            client=body.client or ZERO_ADDRESS,  # zero: any learner may take the offer
            provider=session.address,
            milestones=[md.MilestoneTerms(title=m.title, description=m.description) for m in body.milestones]
            or [md.MilestoneTerms(title=body.title, description="")],
            nonce="0x" + os.urandom(32).hex(),
        )
    # Only the provider's signature names these terms until someone takes the offer: kept while it
    # can be taken (after that the chain names them, or nobody does).
    cid, digest_0x = store_document(store, terms, conn=conn, kind="offer", keep_until=now + body.valid_for)
    digest = bytes.fromhex(digest_0x[2:])
    s = body.session
    offer = Offer(
        provider=session.address,
        client=body.client or ZERO_ADDRESS,
        token=ZERO_ADDRESS if body.token == "ETH" else body.token,
        amounts=[int(s.amount)] if s else [int(m.amount) for m in body.milestones],
        dueDates=[] if s else [m.due_date for m in body.milestones],
        sessionLength=s.length if s else 0,
        grace=s.grace if s else 0,
        minNotice=s.min_notice if s else 0,
        horizon=s.horizon if s else 0,
        reviewWindow=body.review_window,
        arbiter=arbiter,
        termsDigest=digest,
        nonce=int.from_bytes(os.urandom(16), "big"),
        uses=body.uses,
        validUntil=now + body.valid_for,
    )
    try:
        service.check_shape(offer)
    except service.OfferInvalid as exc:
        raise HTTPException(400, str(exc)) from None
    escrow = chain.builder.address("SkillEscrow")
    return OfferTypedData(
        typed_data=service.typed_data_json(chain.chain_id, escrow, offer),
        offer=service.to_fields(offer),
        document_cid=cid,
        digest=digest_0x,
    )


@router.post(
    "/offers/fund",
    response_model=PreparedFunding,
    summary="The createEngagementWithOffer transaction that funds a signed offer as the signed-in client",
)
def prepare_fund_offer(
    body: OfferFund, request: Request, session: CurrentSession, chain: ChainDep
) -> PreparedFunding:
    offer = service.to_offer(body.offer)
    try:
        service.check_shape(offer)
    except service.OfferInvalid as exc:
        raise HTTPException(400, str(exc)) from None
    if offer.client not in (ZERO_ADDRESS, session.address):
        raise HTTPException(403, "this offer is for another client")
    if offer.provider == session.address:
        raise HTTPException(400, "a provider cannot fund its own offer")
    now = int(time.time())
    if now > offer.validUntil:
        raise HTTPException(409, "the offer has expired")
    if now > body.deadline:
        raise HTTPException(400, "the deadline has already passed")
    if offer.sessionLength == 0 and body.starts_at != 0:
        raise HTTPException(400, "a custom offer takes starts_at = 0")
    if offer.sessionLength and body.starts_at < now + offer.minNotice:
        raise HTTPException(400, f"the session must start at least {offer.minNotice} s from now")
    if offer.sessionLength and offer.horizon and body.starts_at > now + offer.horizon:
        raise HTTPException(400, f"the session must start within {offer.horizon} s from now")
    escrow = chain.builder.address("SkillEscrow")
    signature = bytes.fromhex(body.signature[2:])
    if not service.signed_by_provider(chain.chain_id, escrow, offer, signature, request.app.state.eip1271):
        raise HTTPException(400, "the signature is not the provider's over this offer")
    eth = offer.token == ZERO_ADDRESS
    tx = chain.builder.build(
        "SkillEscrow",
        "createEngagementWithOffer",
        service.fund_args(offer, signature, body.starts_at, body.booking_ref, body.deadline),
        value=sum(offer.amounts) if eth else 0,
        description="Fund the provider's offer (accepted from the start)",
        sender=session.address,
        assume_allowance=None if eth else offer.token,  # the approval is sent first
    )
    approval = (
        None
        if eth
        else chain.builder.approval(offer.token, session.address, "SkillEscrow", sum(offer.amounts))
    )
    return PreparedFunding(tx=tx, approval=approval)
