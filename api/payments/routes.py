"""Card-payment routes: Checkout for a quote, and Stripe's webhook."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

from api.deps import (
    ChainDep,
    ConnDep,
    CurrentSession,
    DocumentQuota,
    SettingsDep,
    StoreDep,
    configured_arbiters,
)
from api.documents import document_input, record_document
from api.models import ERRORS, Address, MilestoneIn, Strict
from api.payments.service import BadSignature, Payments, StripeUnavailable
from api.skills import catalog
from ipfs import metadata as md

router = APIRouter(prefix="/payments", tags=["payments"], responses=ERRORS)
NOT_CONFIGURED = "card payments are not configured"


class CheckoutIn(Strict):
    provider: Address
    title: str = Field(min_length=1, max_length=200)
    skill: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9-]+$")
    milestones: list[MilestoneIn] = Field(
        min_length=1, max_length=16, description="amounts in stablecoin base units"
    )
    review_window: int = Field(86400, ge=3600, le=30 * 86400)


class CheckoutPublic(BaseModel):
    quote_id: str
    checkout_url: str
    session_id: str
    expires_at: int
    amount_cents: int
    currency: str


class WebhookPublic(BaseModel):
    received: bool
    result: str


def _payments(request: Request) -> Payments:
    payments: Payments | None = request.app.state.payments
    if payments is None:
        raise HTTPException(503, NOT_CONFIGURED)
    return payments


@router.post(
    "/checkout",
    response_model=CheckoutPublic,
    summary="Pay an engagement by card (Stripe Checkout)",
    dependencies=[DocumentQuota],
)
def checkout(
    body: CheckoutIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
    settings: SettingsDep,
) -> CheckoutPublic:
    payments = _payments(request)
    if body.skill not in catalog():
        raise HTTPException(400, f"unknown skill {body.skill!r}")
    if body.provider == session.address:
        raise HTTPException(400, "the provider must be another wallet than the client")
    now = int(time.time())
    if any(m.due_date <= now for m in body.milestones):
        raise HTTPException(400, "every milestone's due date must be in the future")
    token = settings.stablecoin or (
        chain.record.address_of("TestStablecoin") if "TestStablecoin" in chain.record.contracts else None
    )
    if token is None:
        raise HTTPException(503, "no stablecoin configured for card payments (SKILLCHAIN_STABLECOIN)")
    arbiters = configured_arbiters(settings, chain)
    if not arbiters:
        raise HTTPException(503, "no arbiter configured")
    amounts = [int(m.amount) for m in body.milestones]
    total = sum(amounts)
    if total % 10_000 or not 0 < total < 10**6 * 10**6:  # 6-decimal stablecoin, priced 1:1 in cents
        raise HTTPException(
            400, "the total must be a whole number of cents (multiple of 10,000 base units) up to 1,000,000"
        )
    with document_input():
        terms = md.EngagementTerms(
            title=body.title,
            description="paid by card",
            skill=body.skill,
            client=session.address,
            provider=body.provider,
            milestones=[md.MilestoneTerms(title=m.title, description=m.description) for m in body.milestones],
        )
        digest = "0x" + terms.digest().hex()
    cid = store.add_bytes(terms.to_bytes(), cid_version=1).cid
    try:
        result = payments.create_checkout(
            client=session.address,
            provider=body.provider,
            arbiter=arbiters[0],
            token=token,
            amounts=amounts,
            due_dates=[m.due_date for m in body.milestones],
            review_window=body.review_window,
            terms_digest=digest,
            amount_cents=total // 10_000,
            currency="usd",
        )
    except StripeUnavailable as exc:
        raise HTTPException(503, f"card payments are unavailable right now: {exc}") from None
    # Recorded after the quote's own transaction (SQLite has one writer). A Checkout Session lives at
    # most 24 hours; the chain names the terms once the relayer funds. Unrecorded (a refused quote),
    # the pin is adopted by `skillchain ipfs gc` and removed a grace later.
    record_document(conn, cid=cid, digest=digest, kind="checkout", keep_until=now + 86400)
    return CheckoutPublic(**result, amount_cents=total // 10_000, currency="usd")


@router.post("/webhook", response_model=WebhookPublic, summary="Stripe webhook (signed; answers fast)")
async def webhook(
    request: Request, stripe_signature: Annotated[str | None, Header()] = None
) -> WebhookPublic:
    payments = _payments(request)
    payload = await request.body()
    try:  # database and Stripe work in a thread: never on the event loop
        result = await asyncio.to_thread(payments.handle_webhook, payload, stripe_signature)
    except BadSignature as exc:
        raise HTTPException(400, f"invalid Stripe signature: {exc}") from None
    except StripeUnavailable as exc:  # nothing recorded: Stripe retries, and the retry is processed
        raise HTTPException(503, f"{exc}; retry later", headers={"Retry-After": "60"}) from None
    return WebhookPublic(received=True, result=result)
