"""Offer routes: the provider gets typed data to sign; a client gets the transaction that funds it.
Custom offers for one learner are stored: drafted and signed by the mentor, funded by the learner,
withdrawn by the mentor (api/offers/custom.py says where one stands)."""

from __future__ import annotations

import json
import os
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from sqlalchemy import select

from api.booking.prices import FeedStale, Unpriceable, price_of, usd_rates
from api.deps import (
    ChainContext,
    ChainDep,
    ClockDep,
    ConnDep,
    CurrentSession,
    DocumentQuota,
    SettingsDep,
    StoreDep,
    neutral_arbiter,
    published,
    stablecoin_of,
)
from api.documents import digest_hex, document_input, store_document
from api.models import ERRORS, PreparedFunding
from api.offers import custom, service
from api.offers.schemas import (
    CustomOfferCancelled,
    CustomOfferIn,
    CustomOfferPublic,
    CustomOfferSignatureIn,
    CustomOffersPublic,
    OfferFields,
    OfferFund,
    OfferPrepare,
    OfferTypedData,
    SessionTerms,
)
from api.pagination import CursorQuery, LimitQuery, cursor_keys, page_of
from api.routes.wallet import read_decimals
from api.skills import catalog
from bus import outbox
from bus.outbox import OutboxItem
from chain.offers import ZERO_ADDRESS, Offer
from db import notifications as notifications_table
from db.booking import custom_offers
from db.market import listings
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
    s = body.session
    offer, cid, digest_0x = _signable(
        conn,
        store,
        provider=session.address,
        client=body.client or ZERO_ADDRESS,  # zero: any learner may take the offer
        title=body.title,
        description=body.description,
        skill=body.skill,
        milestones=[(m.title, m.description) for m in body.milestones],
        token=ZERO_ADDRESS if body.token == "ETH" else body.token,
        amounts=[int(s.amount)] if s else [int(m.amount) for m in body.milestones],
        due_dates=[] if s else [m.due_date for m in body.milestones],
        session=s,
        review_window=body.review_window,
        arbiter=arbiter,
        uses=body.uses,
        valid_until=now + body.valid_for,
    )
    escrow = chain.builder.address("SkillEscrow")
    return OfferTypedData(
        typed_data=service.typed_data_json(chain.chain_id, escrow, offer),
        offer=service.to_fields(offer),
        document_cid=cid,
        digest=digest_0x,
    )


def _signable(
    conn: Any,
    store: Any,
    *,
    provider: str,
    client: str,
    title: str,
    description: str,
    skill: str,
    milestones: list[tuple[str, str]],
    token: str,
    amounts: list[int],
    due_dates: list[int],
    session: SessionTerms | None,
    review_window: int,
    arbiter: str,
    uses: int,
    valid_until: int,
) -> tuple[Offer, str, str]:
    """The offer for the provider to sign, checked against the contract's bounds (400 in words), and
    its terms document stored: (offer, CID, digest)."""
    with document_input():
        terms = md.EngagementTerms(
            title=title,
            description=description,
            skill=skill,
            client=client,
            provider=provider,
            milestones=[md.MilestoneTerms(title=t, description=d) for t, d in milestones]
            or [md.MilestoneTerms(title=title, description="")],
            nonce="0x" + os.urandom(32).hex(),
        )
    digest_0x = digest_hex(terms)
    offer = Offer(
        provider=provider,
        client=client,
        token=token,
        amounts=amounts,
        dueDates=due_dates,
        sessionLength=session.length if session else 0,
        grace=session.grace if session else 0,
        minNotice=session.min_notice if session else 0,
        horizon=session.horizon if session else 0,
        reviewWindow=review_window,
        arbiter=arbiter,
        termsDigest=bytes.fromhex(digest_0x[2:]),
        nonce=int.from_bytes(os.urandom(16), "big"),
        uses=uses,
        validUntil=valid_until,
    )
    try:
        service.check_shape(offer)
    except service.OfferInvalid as exc:
        raise HTTPException(400, str(exc)) from None
    # Only the provider's signature names these terms until someone takes the offer: kept while it
    # can be taken (after that the chain names them, or nobody does). Stored once the offer is valid.
    cid, _ = store_document(store, terms, conn=conn, kind="offer", keep_until=valid_until)
    return offer, cid, digest_0x


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


# ---------------------------------------------------------------- custom offers for one learner


def _custom(conn: Any, offer_id: int, viewer: str) -> dict[str, Any]:
    row = custom.load(conn, offer_id, viewer)
    if row is None:
        raise HTTPException(404, "no such offer of yours")
    return row


def _custom_public(conn: Any, row: dict[str, Any], chain: ChainContext, now: int) -> CustomOfferPublic:
    escrow = chain.builder.address("SkillEscrow")
    return custom.public(conn, row, chain_id=chain.chain_id, escrow=escrow, now=now)


OfferId = Annotated[int, Path(ge=1, lt=2**31)]


@router.post(
    "/offers",
    response_model=CustomOfferPublic,
    status_code=201,
    summary="Draft a custom offer for one learner (milestones, prices, due dates); then sign it",
    description="Prices in a fiat currency (or ETH) are converted now, through the on-chain price feeds, "
    "into the token the learner pays; the amounts are then fixed by the mentor's signature. Sign "
    "`typed_data` with eth_signTypedData_v4 and PUT it to /offers/{id}/signature.",
    responses={400: {}, 404: {}, 409: {}, 503: {}},
    dependencies=[DocumentQuota],
)
def draft_custom_offer(
    body: CustomOfferIn,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> CustomOfferPublic:
    if body.skill not in catalog():
        raise HTTPException(400, f"unknown skill {body.skill!r} (see GET /skills)")
    if body.client == session.address:
        raise HTTPException(400, "an offer is for another wallet than yours")
    now = int(clock())
    if body.listing_id is not None:
        owner = conn.execute(select(listings.c.owner).where(listings.c.id == body.listing_id)).scalar()
        if owner != session.address:
            raise HTTPException(404, "no such listing of yours")
    if any(m.due_date <= now for m in body.milestones):
        raise HTTPException(400, "every milestone's due date must be in the future")
    if any(m.due_date > now + 2 * 365 * 86400 for m in body.milestones):
        raise HTTPException(400, "due dates are at most two years ahead")
    arbiter = neutral_arbiter(settings, chain, body.arbiter, (session.address, body.client))
    stable = stablecoin_of(settings, chain)
    decimals = read_decimals(stable, settings.effective_rpc_url) if stable else None
    if stable and decimals is None and body.pay_in != "ETH" and body.currency != "ETH":
        raise HTTPException(503, "the stablecoin's decimals could not be read from the chain: try again")
    rates = usd_rates(settings, chain, now)
    try:
        prices = [
            price_of(
                {"price": m.price, "currency": body.currency},
                rates,
                stablecoin=stable,
                stablecoin_decimals=decimals,
                pay_in=body.pay_in,
            )
            for m in body.milestones
        ]
    except Unpriceable as exc:
        raise HTTPException(409, str(exc)) from None
    except FeedStale as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "60"}) from None
    offer, cid, _ = _signable(
        conn,
        store,
        provider=session.address,
        client=body.client,
        title=body.title,
        description=body.description,
        skill=body.skill,
        milestones=[(m.title, m.description) for m in body.milestones],
        token=prices[0].token,
        amounts=[p.amount for p in prices],
        due_dates=[m.due_date for m in body.milestones],
        session=None,
        review_window=body.review_window,
        arbiter=arbiter,
        uses=1,
        valid_until=now + body.valid_for,
    )
    row = custom.create(
        conn,
        {
            "provider": session.address,
            "client": body.client,
            "listing_id": body.listing_id,
            "title": body.title,
            "currency": body.currency,
            "prices": json.dumps([str(m.price) for m in body.milestones]),
            "offer": service.to_fields(offer).model_dump_json(),
            "document_cid": cid,
            "signature": None,
            "nonce": str(offer.nonce),
            "valid_until": offer.validUntil,
            "status": "draft",
            "created_at": now,
            "cancelled_at": None,
        },
    )
    return _custom_public(conn, row, chain, now)


@router.get(
    "/offers/{offer_id}",
    response_model=CustomOfferPublic,
    summary="A custom offer and its EIP-712 typed data (its two parties only)",
    responses={404: {}},
)
def get_custom_offer(
    offer_id: OfferId, session: CurrentSession, conn: ConnDep, chain: ChainDep, clock: ClockDep
) -> CustomOfferPublic:
    return _custom_public(conn, _custom(conn, offer_id, session.address), chain, int(clock()))


@router.put(
    "/offers/{offer_id}/signature",
    response_model=CustomOfferPublic,
    summary="The mentor's signature over the offer: the learner can fund it from now on",
    responses={400: {}, 403: {}, 404: {}, 409: {}},
)
def sign_custom_offer(
    offer_id: OfferId,
    body: CustomOfferSignatureIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    clock: ClockDep,
) -> CustomOfferPublic:
    row = _custom(conn, offer_id, session.address)
    if row["provider"] != session.address:
        raise HTTPException(403, "only the mentor who made the offer signs it")
    now = int(clock())
    state, _ = custom.state_of(conn, row, now)
    if state == "open" and row["signature"] == body.signature:
        return _custom_public(conn, row, chain, now)  # the same signature again: nothing to do
    if state != "draft":
        raise HTTPException(409, f"this offer is {state}: only a draft is signed")
    offer = service.to_offer(OfferFields.model_validate_json(row["offer"]))
    escrow = chain.builder.address("SkillEscrow")
    signature = bytes.fromhex(body.signature[2:])
    if not service.signed_by_provider(chain.chain_id, escrow, offer, signature, request.app.state.eip1271):
        raise HTTPException(400, "the signature is not yours over this offer's typed data")
    custom.sign(conn, offer_id, body.signature)
    payload = {
        "kind": "offer_received",
        "engagement_id": None,
        "milestone": None,
        "token_id": None,
        "by": session.address,
        "tx": None,
        "offer": offer_id,
    }
    nid = notifications_table.add(conn, row["client"], payload, now=now, chain_id=None, engagement_id=None)
    item = OutboxItem(
        kind="notification",
        audience=frozenset({row["client"]}),
        payload={"id": nid, **payload, "created_at": now},
    )
    answer = _custom_public(conn, custom.load(conn, offer_id, session.address) or row, chain, now)
    outbox.append(conn, [item], now=now)  # last: the outbox's lock is held until the commit just below
    published(request, conn)
    return answer


@router.post(
    "/offers/{offer_id}/fund",
    response_model=PreparedFunding,
    summary="The transaction that funds a signed custom offer (its learner only)",
    responses={403: {}, 404: {}, 409: {}},
)
def fund_custom_offer(
    offer_id: OfferId, session: CurrentSession, conn: ConnDep, chain: ChainDep, clock: ClockDep
) -> PreparedFunding:
    row = _custom(conn, offer_id, session.address)
    if row["client"] != session.address:
        raise HTTPException(403, "this offer is for another learner: only they can fund it")
    now = int(clock())
    state, _ = custom.state_of(conn, row, now)
    if state != "open":
        why = {"draft": "the mentor has not signed it yet"}.get(state, f"it is {state}")
        raise HTTPException(409, f"this offer cannot be funded: {why}")
    offer = service.to_offer(OfferFields.model_validate_json(row["offer"]))
    signature = bytes.fromhex(row["signature"][2:])
    eth = offer.token == ZERO_ADDRESS
    deadline = min(offer.validUntil, now + 1800)  # sent within half an hour, and never past its validity
    tx = chain.builder.build(
        "SkillEscrow",
        "createEngagementWithOffer",
        service.fund_args(offer, signature, 0, "0x" + "00" * 32, deadline),
        value=sum(offer.amounts) if eth else 0,
        description=f"Fund the offer {row['title']!r}: {len(offer.amounts)} milestone(s), accepted at once",
        sender=session.address,
        assume_allowance=None if eth else offer.token,
    )
    approval = (
        None
        if eth
        else chain.builder.approval(offer.token, session.address, "SkillEscrow", sum(offer.amounts))
    )
    return PreparedFunding(tx=tx, approval=approval)


@router.post(
    "/offers/{offer_id}/cancel",
    response_model=CustomOfferCancelled,
    summary="Withdraw a custom offer (its mentor): the app stops funding it; cancelOffer ends it on-chain",
    responses={403: {}, 404: {}, 409: {}},
)
def cancel_custom_offer(
    offer_id: OfferId, session: CurrentSession, conn: ConnDep, chain: ChainDep, clock: ClockDep
) -> CustomOfferCancelled:
    row = _custom(conn, offer_id, session.address)
    if row["provider"] != session.address:
        raise HTTPException(403, "only the mentor who made the offer withdraws it")
    now = int(clock())
    state, _ = custom.state_of(conn, row, now)
    if state == "funded":
        raise HTTPException(409, "this offer was funded already: cancel the engagement instead")
    custom.cancel(conn, offer_id, now)
    tx = None
    if row["signature"] is not None and state != "expired":
        tx = chain.builder.build(
            "SkillEscrow",
            "cancelOffer",
            [int(row["nonce"])],
            description=f"Withdraw the offer {row['title']!r} on-chain (its signature stops working)",
            sender=session.address,
        )
    fresh = custom.load(conn, offer_id, session.address) or row
    return CustomOfferCancelled(offer=_custom_public(conn, fresh, chain, now), tx=tx)


@router.get("/me/offers", response_model=CustomOffersPublic, summary="Custom offers you made or received")
def my_custom_offers(
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    clock: ClockDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> CustomOffersPublic:
    after = cursor_keys(cursor, 1)
    query = custom.mine(conn, session.address).order_by(custom_offers.c.id.desc())
    if after is not None:
        query = query.where(custom_offers.c.id < after[0])
    rows = [dict(r) for r in conn.execute(query.limit(limit + 1)).mappings()]
    page, next_cursor = page_of(rows, limit, lambda r: (int(r["id"]),))
    now = int(clock())
    return CustomOffersPublic(
        data=[_custom_public(conn, r, chain, now) for r in page], next_cursor=next_cursor, total=None
    )
