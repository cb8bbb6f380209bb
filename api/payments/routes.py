"""Card-payment routes: a hosted checkout for a quote (Stripe or Razorpay), and each provider's webhook."""

from __future__ import annotations

import asyncio
import time
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from api.booking.prices import FeedStale, Unpriceable, usd_rates
from api.deps import (
    ChainContext,
    ChainDep,
    ConnDep,
    CurrentSession,
    DocumentQuota,
    SettingsDep,
    StoreDep,
    configured_arbiters,
    stablecoin_of,
)
from api.documents import document_input, record_document
from api.models import ERRORS, Address, MilestoneIn, Strict
from api.payments.service import BadSignature, NotConfigured, Payments, ProviderUnavailable
from api.routes.wallet import _token_meta
from api.skills import catalog
from ipfs import metadata as md
from skillchain.settings import Settings

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
    method: Literal["stripe", "razorpay"] = Field(
        "stripe", description="stripe: charged in USD; razorpay: in INR, through the INR/USD price feed"
    )


class CheckoutPublic(BaseModel):
    quote_id: str
    method: str
    checkout_url: str = Field(description="the provider's hosted page: send the learner there")
    session_id: str = Field(description="the hosted page's id (a Checkout Session, a payment link)")
    expires_at: int
    amount_cents: int = Field(description="what the card is charged, in minor units of `currency`")
    currency: str


class CardMethod(BaseModel):
    method: str = Field(description="stripe or razorpay")
    currency: str = Field(description="what the card is charged in (ISO 4217, lower case)")


class CardMethodsPublic(BaseModel):
    methods: list[CardMethod] = Field(description="the card providers configured here; empty: wallet only")


class WebhookPublic(BaseModel):
    received: bool
    result: str


def card_charge(
    method: str, token: str, base_units: int, settings: Settings, chain: ChainContext, now: int
) -> tuple[str, int]:
    """What the card is charged for `base_units` of the stablecoin `token`, at its own decimals:
    Stripe in US cents (whole cents only), Razorpay in paise through the INR/USD feed, rounded up
    (the escrow is funded in full; the learner pays at most one paisa more). HTTPException in words."""
    try:  # the stablecoin's own decimals (USDC has 6): never assumed
        decimals = _token_meta(token, settings.effective_rpc_url).decimals
    except Exception:  # noqa: BLE001 - the node is down: no price can be made
        raise HTTPException(
            503, "the stablecoin's decimals could not be read from the chain: try again"
        ) from None
    usd = Decimal(base_units).scaleb(-decimals)
    if not 0 < usd <= 10**6:
        raise HTTPException(400, "the total must be more than 0 and at most 1,000,000 stablecoin")
    if method == "stripe":
        cents = usd * 100
        if cents != cents.to_integral_value():
            raise HTTPException(400, f"the total must be a whole number of cents ({usd} is not)")
        return "usd", int(cents)
    try:
        per_inr = usd_rates(settings, chain, now).usd_per("INR")
    except Unpriceable as exc:
        raise HTTPException(409, str(exc)) from None
    except FeedStale as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "60"}) from None
    return "inr", int((usd / per_inr * 100).to_integral_value(rounding=ROUND_CEILING))


def open_checkout(payments: Payments, *, amount_minor: int, currency: str, **quote: Any) -> CheckoutPublic:
    """A quote and its provider's hosted page (Payments.create_checkout), its failures in words (503)."""
    try:
        created = payments.create_checkout(amount_minor=amount_minor, currency=currency, **quote)
    except NotConfigured as exc:
        raise HTTPException(503, str(exc)) from None
    except ProviderUnavailable as exc:
        raise HTTPException(503, f"card payments are unavailable right now: {exc}") from None
    return CheckoutPublic(
        quote_id=created.quote_id,
        method=created.method,
        checkout_url=created.checkout_url,
        session_id=created.session_id,
        expires_at=created.expires_at,
        amount_cents=amount_minor,
        currency=currency,
    )


def _payments(request: Request) -> Payments:
    payments: Payments | None = request.app.state.payments
    if payments is None:
        raise HTTPException(503, NOT_CONFIGURED)
    return payments


@router.get("/methods", response_model=CardMethodsPublic, summary="Which card providers this server offers")
def methods(request: Request) -> CardMethodsPublic:
    payments: Payments | None = request.app.state.payments
    if payments is None:
        return CardMethodsPublic(methods=[])
    return CardMethodsPublic(
        methods=[
            CardMethod(method=name, currency=currency)
            for name, gateway in sorted(payments.providers.items())
            for currency in sorted(gateway.currencies)
        ]
    )


@router.post(
    "/checkout",
    response_model=CheckoutPublic,
    summary="Pay an engagement by card (Stripe Checkout or a Razorpay Payment Link)",
    responses={400: {}, 409: {}, 503: {}},
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
    if body.method not in payments.providers:
        raise HTTPException(503, f"{body.method} payments are not configured on this server")
    if body.skill not in catalog():
        raise HTTPException(400, f"unknown skill {body.skill!r}")
    if body.provider == session.address:
        raise HTTPException(400, "the provider must be another wallet than the client")
    now = int(time.time())
    if any(m.due_date <= now for m in body.milestones):
        raise HTTPException(400, "every milestone's due date must be in the future")
    token = stablecoin_of(settings, chain)
    if token is None:
        raise HTTPException(503, "no stablecoin configured for card payments (SKILLCHAIN_STABLECOIN)")
    arbiters = configured_arbiters(settings, chain)
    if not arbiters:
        raise HTTPException(503, "no arbiter configured")
    amounts = [int(m.amount) for m in body.milestones]
    total = sum(amounts)
    currency, amount_minor = card_charge(body.method, token, total, settings, chain, now)
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
    page = open_checkout(
        payments,
        method=body.method,
        client=session.address,
        provider=body.provider,
        arbiter=arbiters[0],
        token=token,
        amounts=amounts,
        due_dates=[m.due_date for m in body.milestones],
        review_window=body.review_window,
        terms_digest=digest,
        amount_minor=amount_minor,
        currency=currency,
    )
    # Recorded after the quote's own transaction (SQLite has one writer). A hosted page lives at
    # most 24 hours; the chain names the terms once the relayer funds. Unrecorded (a refused quote),
    # the pin is adopted by `skillchain ipfs gc` and removed a grace later.
    record_document(conn, cid=cid, digest=digest, kind="checkout", keep_until=now + 86400)
    return page


async def _webhook(request: Request, method: str) -> WebhookPublic:
    payments = _payments(request)
    payload = await request.body()
    try:  # database and provider work in a thread: never on the event loop
        result = await asyncio.to_thread(payments.handle_webhook, method, payload, request.headers)
    except NotConfigured as exc:
        raise HTTPException(503, str(exc)) from None
    except BadSignature as exc:
        raise HTTPException(400, f"invalid {method} signature: {exc}") from None
    except ProviderUnavailable as exc:  # nothing recorded: the provider retries, and the retry is processed
        raise HTTPException(503, f"{exc}; retry later", headers={"Retry-After": "60"}) from None
    return WebhookPublic(received=True, result=result)


@router.post(
    "/webhook",
    response_model=WebhookPublic,
    summary="Stripe webhook (signed with Stripe-Signature; answers fast)",
    responses={400: {}, 503: {}},
)
async def webhook(request: Request) -> WebhookPublic:
    return await _webhook(request, "stripe")


@router.post(
    "/razorpay/webhook",
    response_model=WebhookPublic,
    summary="Razorpay webhook (X-Razorpay-Signature over the raw body; X-Razorpay-Event-Id recorded once)",
    responses={400: {}, 503: {}},
)
async def razorpay_webhook(request: Request) -> WebhookPublic:
    return await _webhook(request, "razorpay")
