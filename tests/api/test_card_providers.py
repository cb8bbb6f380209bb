"""One suite for every card provider, through the provider interface: Stripe (against its stand-in)
and Razorpay (against its stand-in, through the official SDK), on a real anvil. Paid -> funded once
(Razorpay's `payment.captured` and `order.paid` in both orders); ten duplicate and ten concurrent
deliveries -> one funding; a bad signature, a changed byte or a missing header -> 400 and nothing
written; a refund -> recorded; a chargeback -> exactly one on-chain dispute by the relayer (the
payer); the dispute lost or won -> recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from api.app import create_app
from api.payments.service import Payments
from chain.artifacts import load_artifact
from chain.relayer import external_ref
from chain.tx import anvil_account
from db.payments import card_credits, card_refunds, payment_events, payment_jobs, payment_quotes
from tests.api.booking_flow import EVERY_DAY, next_hour, session_listing
from tests.api.conftest_chain import Stack
from tests.api.razorpay_standin import KEY_ID, KEY_SECRET, RazorpayStandIn, running_razorpay_standin
from tests.api.stripe_standin import StripeStandIn, running_stripe_standin

STRIPE_SECRET = "whsec_test_skillchain"  # the stand-ins' webhook secrets, not real ones
RAZORPAY_SECRET = "rzp_whsec_test_skillchain"
CLIENT, PROVIDER, RELAYER = anvil_account(1), anvil_account(2), anvil_account(8)
Delivery = tuple[bytes, dict[str, str]]


@dataclass
class Cards:
    stack: Stack
    client: TestClient
    payments: Payments
    stripe: StripeStandIn
    razorpay: RazorpayStandIn
    charges: dict[str, str] = field(default_factory=dict)  # payment -> the provider's charge id

    def checkout(self, method: str, amounts: tuple[int, ...] = (25_000_000,)) -> dict[str, Any]:
        """A card checkout for an engagement of `amounts` milestones (tUSD base units)."""
        due = int(time.time()) + 7 * 86400
        made = self.client.post(
            "/payments/checkout",
            headers=self.stack.sign_in(CLIENT),
            json={
                "provider": PROVIDER.address,
                "title": "Card-paid mentoring",
                "skill": "python",
                "milestones": [
                    {"title": f"m{i}", "amount": str(a), "due_date": due} for i, a in enumerate(amounts)
                ],
                "method": method,
            },
        )
        assert made.status_code == 200, made.text
        return made.json()  # type: ignore[no-any-return]

    def deliver(self, method: str, delivery: Delivery) -> Any:
        body, headers = delivery
        path = "/payments/webhook" if method == "stripe" else "/payments/razorpay/webhook"
        return self.client.post(path, content=body, headers={"Content-Type": "application/json", **headers})

    # ------------------------------------------------------------ each provider's wire format
    def stripe_event(self, kind: str, obj: dict[str, Any]) -> Delivery:
        body = StripeStandIn.event(kind, obj)
        return body, {"Stripe-Signature": StripeStandIn.sign(body, STRIPE_SECRET)}

    def razorpay_event(self, kind: str, **entities: dict[str, Any]) -> Delivery:
        body = RazorpayStandIn.event(kind, **entities)
        return body, {
            "X-Razorpay-Signature": RazorpayStandIn.sign(body, RAZORPAY_SECRET),
            "X-Razorpay-Event-Id": f"evt_{time.time_ns()}",
        }

    def pay(self, method: str, out: dict[str, Any]) -> tuple[str, list[Delivery]]:
        """The learner pays on the provider's page: the payment's key and the webhook deliveries."""
        if method == "stripe":
            session = self.stripe.complete(out["session_id"], paid=True)
            self.charges[session["id"]] = session["payment_intent"]
            return session["id"], [self.stripe_event("checkout.session.completed", session)]
        order, payment = self.razorpay.pay(out["session_id"])
        self.charges[order["id"]] = payment["id"]
        return order["id"], [
            self.razorpay_event("payment.captured", payment=payment),
            self.razorpay_event("order.paid", payment=payment, order=order),
        ]

    def dispute(self, method: str, payment: str, outcome: str) -> Delivery:
        charge = self.charges[payment]
        if method == "stripe":
            kind = "charge.dispute.created" if outcome == "created" else "charge.dispute.closed"
            obj = {"id": f"du_{charge}", "object": "dispute", "payment_intent": charge, "status": outcome}
            return self.stripe_event(kind, obj)
        entity = {"id": f"disp_{charge}", "entity": "dispute", "payment_id": charge, "amount": 200000}
        return self.razorpay_event(
            f"payment.dispute.{outcome}", payment=self.razorpay.payments[charge], dispute=entity
        )

    def refunded(self, method: str, payment: str, refund_id: str, *, listed: bool = True) -> Delivery:
        """The provider's refund event; Stripe's charge lists its refunds only when `listed` (since
        its 2022-11-15 API it does not), giving just the refunded total."""
        charge = self.charges[payment]
        if method == "stripe":
            refunded = sum(self.stripe.refund_amounts.get(charge, []))
            obj: dict[str, Any] = {
                "id": f"ch_{charge}",
                "object": "charge",
                "payment_intent": charge,
                "amount_refunded": refunded,
            }
            if listed:
                obj["refunds"] = {"data": [{"id": refund_id}]}
            return self.stripe_event("charge.refunded", obj)
        refund = next(r for r in self.razorpay.refunds[charge] if r["id"] == refund_id)
        return self.razorpay_event("refund.processed", refund=refund, payment=self.razorpay.payments[charge])

    # ------------------------------------------------------------ what happened
    def fundings(self, payment: str) -> int:
        ref = external_ref(payment)
        return sum(
            1
            for e in self.escrow().events.EngagementCreated.get_logs(from_block=0)
            if bytes(e.args.externalRef) == ref
        )

    def escrow(self) -> Any:
        return self.stack.w3.eth.contract(
            address=self.stack.record.address_of("SkillEscrow"), abi=load_artifact("SkillEscrow").abi
        )

    def written(self) -> tuple[int, int, int]:
        with self.payments.engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (payment_events, payment_jobs, card_refunds)
            )


@pytest.fixture(scope="module")
def cards(stack: Stack) -> Iterator[Cards]:
    with running_stripe_standin() as (stripe_url, stripe), running_razorpay_standin() as (rzp_url, razorpay):
        settings = stack.settings.model_copy(
            update={
                "stripe_secret_key": SecretStr("sk_test_standin"),
                "stripe_webhook_secret": SecretStr(STRIPE_SECRET),
                "stripe_api_base": stripe_url,
                "razorpay_key_id": KEY_ID,
                "razorpay_key_secret": SecretStr(KEY_SECRET),
                "razorpay_webhook_secret": SecretStr(RAZORPAY_SECRET),
                "razorpay_api_base": rzp_url,
                "payments_worker": False,
            }
        )
        app = create_app(settings)
        yield Cards(stack, TestClient(app), app.state.payments, stripe, razorpay)


METHODS = ["stripe", "razorpay"]


def test_razorpay_charges_inr_through_the_feed_in_exact_paise(cards: Cards) -> None:
    out = cards.checkout("razorpay")
    # 25 tUSD (6 decimals) at INR/USD 0.0125 = 2,000 INR = 200,000 paise, exactly.
    assert (out["method"], out["currency"], out["amount_cents"]) == ("razorpay", "inr", 200000)
    link = cards.razorpay.links[out["session_id"]]
    assert link["amount"] == 200000 and link["notes"] == {"quote_id": out["quote_id"]}
    assert out["checkout_url"] == link["short_url"]
    stripe_out = cards.checkout("stripe")
    assert (stripe_out["currency"], stripe_out["amount_cents"]) == ("usd", 2500)


@pytest.mark.parametrize(
    ("method", "order"), [("stripe", "as sent"), ("razorpay", "captured first"), ("razorpay", "order first")]
)
def test_a_paid_checkout_funds_the_escrow_once(cards: Cards, method: str, order: str) -> None:
    out = cards.checkout(method)
    payment, deliveries = cards.pay(method, out)
    if order == "order first":
        deliveries.reverse()
    results = [cards.deliver(method, d).json()["result"] for d in deliveries]
    assert results[0] == "fund queued" and all(r == "fund already queued" for r in results[1:])
    cards.payments.process_jobs()
    cards.payments.process_jobs()
    assert cards.fundings(payment) == 1


@pytest.mark.parametrize("method", METHODS)
def test_ten_duplicate_and_ten_concurrent_deliveries_fund_once(cards: Cards, method: str) -> None:
    out, other = cards.checkout(method), cards.checkout(method)
    payment, [delivery, *_] = cards.pay(method, out)
    results = [cards.deliver(method, delivery).json()["result"] for _ in range(10)]
    assert results[0] == "fund queued" and set(results[1:]) == {"duplicate"}
    second, [concurrent, *_] = cards.pay(method, other)
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(lambda _: cards.deliver(method, concurrent).status_code, range(10)))
    assert codes == [200] * 10
    cards.payments.process_jobs()
    assert (cards.fundings(payment), cards.fundings(second)) == (1, 1)
    with cards.payments.engine.connect() as conn:
        jobs = conn.execute(
            select(payment_jobs).where(payment_jobs.c.session_id.in_([payment, second]))
        ).all()
    assert len(jobs) == 2 and all(j.status == "done" for j in jobs)


@pytest.mark.parametrize("method", METHODS)
def test_a_bad_signature_a_changed_byte_or_a_missing_header_is_400_and_writes_nothing(
    cards: Cards, method: str
) -> None:
    out = cards.checkout(method)
    _, [(body, headers), *_] = cards.pay(method, out)
    before = cards.written()
    signature = "Stripe-Signature" if method == "stripe" else "X-Razorpay-Signature"
    wrong_secret = (
        StripeStandIn.sign(body, "whsec_wrong") if method == "stripe" else RazorpayStandIn.sign(body, "wrong")
    )
    changed = body.replace(b"25", b"26", 1) if b"25" in body else body.replace(b"0", b"1", 1)
    for bad_body, bad_headers in [
        (body, {**headers, signature: wrong_secret}),
        (changed, headers),
        (body, {k: v for k, v in headers.items() if k != signature}),
        (body, {**headers, signature: "garbage"}),
    ]:
        refused = cards.deliver(method, (bad_body, bad_headers))
        assert refused.status_code == 400 and "signature" in refused.json()["detail"], refused.text
    if method == "razorpay":  # without the event id the delivery cannot be recorded once
        no_id = {k: v for k, v in headers.items() if k != "X-Razorpay-Event-Id"}
        assert cards.deliver(method, (body, no_id)).status_code == 400
    assert cards.written() == before


@pytest.mark.parametrize("method", METHODS)
def test_a_refund_to_the_card_is_made_once_and_recorded(cards: Cards, method: str) -> None:
    out = cards.checkout(method)
    payment, deliveries = cards.pay(method, out)
    for d in deliveries:
        cards.deliver(method, d)
    cards.payments.process_jobs()
    key = f"test-refund-{payment}"
    first = cards.payments.refund_card(
        method=method, payment=payment, charge=cards.charges[payment], amount=700, key=key
    )
    again = cards.payments.refund_card(
        method=method, payment=payment, charge=cards.charges[payment], amount=700, key=key
    )
    assert first == again  # one refund per reason, however often it is asked for
    # A crash before our record, retried after Stripe forgot the Idempotency-Key (24 h): the refund is
    # found by the tag it carries, never made twice.
    cards.stripe.idempotent.clear()
    with cards.payments.engine.begin() as conn:
        conn.execute(
            card_refunds.update().where(card_refunds.c.key == key).values(refund_id=None, status="pending")
        )
    later = cards.payments.refund_card(
        method=method, payment=payment, charge=cards.charges[payment], amount=700, key=key
    )
    assert later == first
    if method == "razorpay":
        assert [r["amount"] for r in cards.razorpay.refunds[cards.charges[payment]]] == [700]
    else:
        assert cards.stripe.refunds[cards.charges[payment]] == 1
    with cards.payments.engine.begin() as conn:  # as if the webhook came before our refund's id was stored
        conn.execute(card_refunds.update().where(card_refunds.c.key == key).values(refund_id=None))
    # Stripe sends no refund list (only the charge's refunded total); Razorpay's refund carries our tag.
    assert cards.deliver(method, cards.refunded(method, payment, first, listed=False)).json()["result"] == (
        "refund recorded"
    )
    with cards.payments.engine.connect() as conn:
        disputes = conn.execute(
            select(payment_jobs).where(payment_jobs.c.session_id == payment, payment_jobs.c.kind == "dispute")
        ).all()
    assert disputes == []  # our own refund never takes the escrow back
    with cards.payments.engine.connect() as conn:
        row = conn.execute(select(card_refunds).where(card_refunds.c.key == key)).mappings().one()
    assert (row["status"], row["amount"]) == ("processed", 700)
    assert row["refund_id"] in (first, None)  # Stripe's event names no refund: the id stays unknown


@pytest.mark.parametrize("method", METHODS)
def test_a_chargeback_disputes_on_chain_once_by_the_payer_and_its_outcome_is_recorded(
    cards: Cards, method: str
) -> None:
    out = cards.checkout(method)
    payment, deliveries = cards.pay(method, out)
    for d in deliveries:
        cards.deliver(method, d)
    cards.payments.process_jobs()
    cards.stack.index()
    eid = cards.payments._engagement_for(payment)
    assert eid is not None
    c, mentor = cards.stack.client, cards.stack.sign_in(PROVIDER)
    cards.stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    submitted = c.post(f"/engagements/{eid}/milestones/0/submit", headers=mentor, json={"summary": "done"})
    cards.stack.send(PROVIDER, submitted.json()["tx"])
    cards.stack.index()
    opened = cards.dispute(method, payment, "created")
    assert cards.deliver(method, opened).json()["result"] == "dispute queued"
    assert (
        cards.deliver(method, cards.dispute(method, payment, "created")).json()["result"]
        == "dispute already queued"
    )
    cards.payments.process_jobs()
    cards.payments.process_jobs()
    raised = [e for e in cards.escrow().events.DisputeRaised.get_logs(from_block=0) if e.args.id == eid]
    assert len(raised) == 1 and raised[0].args.by == RELAYER.address
    outcome = "lost" if method == "stripe" else "won"
    assert (
        cards.deliver(method, cards.dispute(method, payment, outcome)).json()["result"]
        == f"dispute {outcome} recorded"
    )
    with cards.payments.engine.connect() as conn:
        status = conn.execute(
            select(payment_quotes.c.dispute_status).where(payment_quotes.c.checkout_session == payment)
        ).scalar_one()
    assert status == outcome


def test_a_razorpay_payment_whose_notes_were_lost_is_found_through_the_orders_api(cards: Cards) -> None:
    out = cards.checkout("razorpay")
    order, payment = cards.razorpay.pay(out["session_id"])
    payment["notes"], order["receipt"] = [], out["quote_id"]  # no notes on the payment; the order knows
    order["notes"] = []
    delivery = cards.razorpay_event("payment.captured", payment=payment)
    assert cards.deliver("razorpay", delivery).json()["result"] == "fund queued"
    cards.payments.process_jobs()
    assert cards.fundings(order["id"]) == 1


def test_a_payment_of_another_amount_than_its_quote_funds_nothing(cards: Cards) -> None:
    out = cards.checkout("razorpay")
    order, payment = cards.razorpay.pay(out["session_id"])
    payment["amount"] = 100  # a tampered or partial payment
    assert (
        "not funded"
        in cards.deliver("razorpay", cards.razorpay_event("payment.captured", payment=payment)).json()[
            "result"
        ]
    )
    cards.payments.process_jobs()
    assert cards.fundings(order["id"]) == 0


# ---------------------------------------------------------------- escrow credits back to the card


def _call(cards: Cards, account: Any, function: str, *args: Any) -> None:
    """`account` calls the escrow directly, as its wallet would."""
    escrow = cards.escrow()
    data = escrow.encode_abi(function, args=list(args))
    cards.stack.send(
        account, {"to": escrow.address, "data": data, "value": "0x0", "chainId": cards.stack.w3.eth.chain_id}
    )


def _funded(cards: Cards, method: str, amounts: list[int]) -> tuple[str, int]:
    """A card-funded engagement (a request) of `amounts` milestones, indexed."""
    out = cards.checkout(method, tuple(amounts))
    payment, deliveries = cards.pay(method, out)
    for d in deliveries:
        cards.deliver(method, d)
    cards.payments.process_jobs()
    cards.stack.index()
    eid = cards.payments._engagement_for(payment)
    assert eid is not None
    return payment, eid


def _settle(cards: Cards, passes: int = 3) -> None:
    """Worker passes with the indexer between them: credit recorded, withdrawn, refunded."""
    for _ in range(passes):
        cards.payments.process_jobs()
        cards.stack.index()


def _card_refunds(cards: Cards, method: str, payment: str) -> list[int]:
    charge = cards.charges[payment]
    if method == "razorpay":
        return [r["amount"] for r in cards.razorpay.refunds.get(charge, [])]
    return list(cards.stripe.refund_amounts.get(charge, []))


@pytest.fixture
def credits_now(cards: Cards, monkeypatch: pytest.MonkeyPatch) -> None:
    """Escrow credits are refunded as soon as they are indexed (anvil mines a block per transaction)."""
    monkeypatch.setattr(cards.payments, "credit_depth", 0)


@pytest.mark.parametrize("method", METHODS)
def test_a_declined_card_funded_request_refunds_the_card_in_full_once(
    cards: Cards, method: str, credits_now: None
) -> None:
    payment, eid = _funded(cards, method, [25_000_000])
    mentor = cards.stack.sign_in(PROVIDER)
    cards.stack.send(PROVIDER, cards.stack.client.post(f"/engagements/{eid}/cancel", headers=mentor).json())
    cards.stack.index()
    _settle(cards)
    full = 2500 if method == "stripe" else 200000
    assert _card_refunds(cards, method, payment) == [full]
    assert (
        cards.payments.relayer is not None
        and cards.payments.relayer.owed(cards.stack.record.address_of("TestStablecoin")) == 0
    )
    _settle(cards)  # nothing more, however many passes
    assert _card_refunds(cards, method, payment) == [full]


@pytest.mark.parametrize("method", METHODS)
def test_a_cancelled_milestone_refunds_its_share_of_the_card_payment(
    cards: Cards, method: str, credits_now: None
) -> None:
    payment, eid = _funded(cards, method, [15_000_000, 10_000_000])
    c, mentor, learner = cards.stack.client, cards.stack.sign_in(PROVIDER), cards.stack.sign_in(CLIENT)
    cards.stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    cards.stack.send(
        PROVIDER,
        c.post(f"/engagements/{eid}/milestones/0/submit", headers=mentor, json={"summary": "done"}).json()[
            "tx"
        ],
    )
    cards.stack.index()
    approve = c.post(f"/engagements/{eid}/milestones/0/approve", headers=learner).json()
    assert approve["description"] == f"Release milestone 1 of engagement {eid}"  # the wallet counts from 1
    cards.stack.send(CLIENT, approve)
    cards.stack.send(
        PROVIDER, c.post(f"/engagements/{eid}/cancel", headers=mentor).json()
    )  # hands back milestone 1
    cards.stack.index()
    _settle(cards)
    assert _card_refunds(cards, method, payment) == [1000 if method == "stripe" else 80000]  # 10 of 25


@pytest.mark.parametrize("method", METHODS)
def test_a_30_70_resolution_refunds_the_payers_70_percent_once_though_the_worker_crashes(
    cards: Cards, method: str, credits_now: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment, eid = _funded(cards, method, [25_000_000])
    c, mentor = cards.stack.client, cards.stack.sign_in(PROVIDER)
    cards.stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    submitted = c.post(f"/engagements/{eid}/milestones/0/submit", headers=mentor, json={"summary": "done"})
    cards.stack.send(PROVIDER, submitted.json()["tx"])
    _call(cards, CLIENT, "raiseDispute", eid)  # the learner disputes the work (not a chargeback)
    _call(cards, anvil_account(9), "resolveDispute", eid, 3000)  # the arbiter: 30% to the mentor
    cards.stack.index()
    gateway = cards.payments.providers[method]
    real = type(gateway).refund

    def crashes_after_the_provider_refunded(self: Any, **kwargs: Any) -> str:
        real(self, **kwargs)
        raise SystemExit("worker killed after the provider refunded, before it was recorded")

    monkeypatch.setattr(type(gateway), "refund", crashes_after_the_provider_refunded)
    with pytest.raises(SystemExit):
        _settle(cards)
    monkeypatch.setattr(type(gateway), "refund", real)
    _settle(cards)  # the restarted worker asks again with the same key: the provider's first refund
    assert _card_refunds(cards, method, payment) == [1750 if method == "stripe" else 140000]


@pytest.mark.parametrize("method", METHODS)
def test_a_refund_webhook_that_fails_midway_is_recorded_on_its_retry(
    cards: Cards, method: str, credits_now: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment, eid = _funded(cards, method, [25_000_000])
    mentor = cards.stack.sign_in(PROVIDER)
    cards.stack.send(PROVIDER, cards.stack.client.post(f"/engagements/{eid}/cancel", headers=mentor).json())
    cards.stack.index()
    _settle(cards)
    with cards.payments.engine.connect() as conn:
        refund_id = conn.execute(
            select(card_refunds.c.refund_id).where(card_refunds.c.payment == payment)
        ).scalar_one()
    delivery = cards.refunded(method, payment, refund_id)
    real = Payments._apply

    def breaks(self: Payments, conn: Any, m: str, event: Any) -> str:
        real(self, conn, m, event)
        raise RuntimeError("the database went away midway")

    monkeypatch.setattr(Payments, "_apply", breaks)
    with pytest.raises(RuntimeError):
        cards.deliver(method, delivery)
    monkeypatch.setattr(Payments, "_apply", real)
    with cards.payments.engine.connect() as conn:
        assert (
            conn.execute(select(card_refunds.c.status).where(card_refunds.c.payment == payment)).scalar_one()
            == "requested"
        )
    assert cards.deliver(method, delivery).json()["result"] == "refund recorded"
    with cards.payments.engine.connect() as conn:
        assert (
            conn.execute(select(card_refunds.c.status).where(card_refunds.c.payment == payment)).scalar_one()
            == "processed"
        )
    assert len(_card_refunds(cards, method, payment)) == 1


@pytest.mark.parametrize("method", METHODS)
def test_a_chargeback_before_acceptance_withdraws_and_refunds_nothing_more_to_the_card(
    cards: Cards, method: str, credits_now: None
) -> None:
    payment, eid = _funded(cards, method, [25_000_000])
    assert (
        cards.deliver(method, cards.dispute(method, payment, "created")).json()["result"] == "dispute queued"
    )
    _settle(cards)
    withdrawn = [e for e in cards.escrow().events.RequestWithdrawn.get_logs(from_block=0) if e.args.id == eid]
    assert len(withdrawn) == 1 and withdrawn[0].args.by == RELAYER.address
    assert _card_refunds(cards, method, payment) == []  # the bank already gave the money back
    with cards.payments.engine.connect() as conn:
        assert set(
            conn.execute(select(card_credits.c.status).where(card_credits.c.payment == payment)).scalars()
        ) == {"kept"}


def test_a_bookings_quote_lists_the_card_methods_for_its_currency(cards: Cards) -> None:
    c, mentor, learner = (
        cards.client,
        cards.stack.sign_in(PROVIDER, cards.client),
        cards.stack.sign_in(CLIENT, cards.client),
    )
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    methods = {}
    for currency, price, hour in [("USD", "18", 9), ("INR", "1500", 11), ("ETH", "0.01", 13)]:
        listing = session_listing(c, mentor, price=price, currency=currency)
        made = c.post(
            "/bookings",
            headers=learner,
            json={"listing_id": listing, "starts_at": next_hour(days=5, hour=hour)},
        )
        assert made.status_code == 201, made.text
        methods[currency] = made.json()["quote"]["card_methods"]
    assert methods == {"USD": ["stripe"], "INR": ["razorpay"], "ETH": []}


# ---------------------------------------------------------------- a held session booking paid by card


@pytest.fixture
def app_clock(cards: Cards, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The app's and the payments worker's clock, moved by the test (holds lapse without sleeping)."""
    now = [time.time()]
    monkeypatch.setattr(cards.client.app.state, "clock", lambda: now[0])  # type: ignore[attr-defined]
    monkeypatch.setattr(cards.payments, "clock", lambda: now[0])
    return now


def _held_booking(cards: Cards, day: int) -> dict[str, Any]:
    """The learner holds an 18 USD session of the mentor, paid in the stablecoin."""
    c = cards.client
    mentor, learner = cards.stack.sign_in(PROVIDER, c), cards.stack.sign_in(CLIENT, c)
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = session_listing(c, mentor, price="18", currency="USD")
    made = c.post(
        "/bookings", headers=learner, json={"listing_id": listing, "starts_at": next_hour(days=day, hour=15)}
    )
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("method", "charged"), [("stripe", 1800), ("razorpay", 144000)])
def test_a_held_booking_paid_by_card_is_funded_with_its_terms_and_holds_as_long_as_the_page(
    cards: Cards, app_clock: list[float], method: str, charged: int
) -> None:
    made = _held_booking(cards, day=9 if method == "stripe" else 10)
    bid, learner = made["booking"]["id"], cards.stack.sign_in(CLIENT, cards.client)
    card = cards.client.post(f"/bookings/{bid}/card", headers=learner, json={"method": method})
    assert card.status_code == 200, card.text
    out = card.json()
    assert out["amount_cents"] == charged  # 18 USD; at INR/USD 0.0125, 1,440 INR
    assert out["expires_at"] >= int(app_clock[0]) + 1800
    again = cards.client.post(f"/bookings/{bid}/card", headers=learner, json={"method": method})
    assert again.status_code == 409 and "open already" in again.text
    app_clock[0] += 20 * 60  # past the 10-minute hold: the card's page keeps the slot
    assert cards.client.get(f"/bookings/{bid}", headers=learner).json()["state"] == "held"
    payment, deliveries = cards.pay(method, out)
    for d in deliveries:
        cards.deliver(method, d)
    app_clock[0] += 40 * 60  # paid in time, funded later: the paid hold keeps the slot meanwhile
    cards.payments.process_jobs()
    cards.stack.index()
    assert cards.fundings(payment) == 1
    booking = cards.client.get(f"/bookings/{bid}", headers=learner).json()
    assert (
        booking["state"] == "requested"
    )  # the indexer matched learner, amount and terms: the mentor accepts next


@pytest.mark.parametrize("method", METHODS)
def test_a_card_payment_after_the_hold_lapsed_is_refunded_in_full_and_the_page_is_closed(
    cards: Cards, app_clock: list[float], method: str
) -> None:
    paid_late = _held_booking(cards, day=11 if method == "stripe" else 12)
    unpaid = _held_booking(cards, day=13 if method == "stripe" else 14)
    learner = cards.stack.sign_in(CLIENT, cards.client)
    late = cards.client.post(
        f"/bookings/{paid_late['booking']['id']}/card", headers=learner, json={"method": method}
    ).json()
    never = cards.client.post(
        f"/bookings/{unpaid['booking']['id']}/card", headers=learner, json={"method": method}
    ).json()
    app_clock[0] += 32 * 60  # both holds lapsed
    payment, deliveries = cards.pay(method, late)  # paid in the last second; the webhook comes late
    results = [cards.deliver(method, d).json()["result"] for d in deliveries]
    assert "hold had lapsed" in results[0], results
    cards.payments.process_jobs()
    cards.payments.process_jobs()
    assert cards.fundings(payment) == 0
    full = late["amount_cents"]
    if method == "stripe":
        assert cards.stripe.refund_amounts.get(cards.charges[payment]) == [full]
        assert (
            cards.stripe.sessions[never["session_id"]]["status"] == "expired"
        )  # closed through Stripe's API
    else:
        assert [r["amount"] for r in cards.razorpay.refunds[cards.charges[payment]]] == [full]
        assert cards.razorpay.links[never["session_id"]]["status"] == "cancelled"


@pytest.mark.parametrize("method", METHODS)
def test_a_chargeback_while_a_credit_waits_for_its_withdrawal_keeps_it(
    cards: Cards, method: str, credits_now: None
) -> None:
    payment, eid = _funded(cards, method, [25_000_000])
    mentor = cards.stack.sign_in(PROVIDER)
    cards.stack.send(PROVIDER, cards.stack.client.post(f"/engagements/{eid}/cancel", headers=mentor).json())
    cards.stack.index()
    cards.payments.refund_credits()  # the credit is recorded, its withdrawal queued, not yet done
    with cards.payments.engine.connect() as conn:
        assert set(
            conn.execute(select(card_credits.c.status).where(card_credits.c.payment == payment)).scalars()
        ) == {"pending"}
    cards.deliver(method, cards.dispute(method, payment, "created"))  # the bank gives the money back
    _settle(cards)
    assert _card_refunds(cards, method, payment) == []  # not twice
    with cards.payments.engine.connect() as conn:
        assert set(
            conn.execute(select(card_credits.c.status).where(card_credits.c.payment == payment)).scalars()
        ) == {"kept"}


@pytest.mark.parametrize(("method", "paid"), [("stripe", 1000), ("razorpay", 80000)])
def test_three_declined_milestones_refund_exactly_what_the_card_paid(
    cards: Cards, method: str, paid: int, credits_now: None
) -> None:
    """Each credit's share comes from the running total: thirds of 10 tUSD add up to the whole
    charge to the cent or paisa (each third rounded down alone would lose up to two)."""
    payment, eid = _funded(cards, method, [3_333_333, 3_333_333, 3_333_334])
    mentor = cards.stack.sign_in(PROVIDER)
    cards.stack.send(PROVIDER, cards.stack.client.post(f"/engagements/{eid}/cancel", headers=mentor).json())
    cards.stack.index()
    _settle(cards)
    refunds = _card_refunds(cards, method, payment)
    assert len(refunds) == 3 and sum(refunds) == paid, refunds


@pytest.mark.parametrize("method", METHODS)
def test_a_refund_that_fails_at_the_provider_is_recorded_and_alerted(cards: Cards, method: str) -> None:
    from prometheus_client import REGISTRY

    from api.payments.providers.base import refund_tag

    payment, _eid = _funded(cards, method, [25_000_000])
    key = f"test-failing-refund-{payment}"
    refund_id = cards.payments.refund_card(
        method=method, payment=payment, charge=cards.charges[payment], amount=500, key=key
    )
    before = REGISTRY.get_sample_value("skillchain_card_refunds_failed_total") or 0.0
    if method == "stripe":
        obj = {
            "id": refund_id,
            "object": "refund",
            "payment_intent": cards.charges[payment],
            "status": "failed",
            "metadata": {"skillchain_key": refund_tag(key)},
        }
        delivery = cards.stripe_event("refund.failed", obj)
    else:
        refund = next(r for r in cards.razorpay.refunds[cards.charges[payment]] if r["id"] == refund_id)
        delivery = cards.razorpay_event(
            "refund.failed",
            refund=refund | {"status": "failed"},
            payment=cards.razorpay.payments[cards.charges[payment]],
        )
    assert cards.deliver(method, delivery).json()["result"] == "refund failure recorded"
    with cards.payments.engine.connect() as conn:
        assert (
            conn.execute(select(card_refunds.c.status).where(card_refunds.c.key == key)).scalar_one()
            == "failed"
        )
    assert REGISTRY.get_sample_value("skillchain_card_refunds_failed_total") == before + 1


def test_a_booking_paid_whose_webhook_never_came_is_refunded_by_reconciliation_once_its_hold_lapsed(
    cards: Cards, app_clock: list[float]
) -> None:
    made = _held_booking(cards, day=15)
    learner = cards.stack.sign_in(CLIENT, cards.client)
    out = cards.client.post(
        f"/bookings/{made['booking']['id']}/card", headers=learner, json={"method": "stripe"}
    ).json()
    session = cards.stripe.complete(out["session_id"], paid=True)  # paid at Stripe; no webhook ever arrives
    app_clock[0] += 40 * 60
    cards.payments.reconcile()
    cards.payments.reconcile()  # again: nothing more
    assert cards.fundings(session["id"]) == 0
    assert cards.stripe.refund_amounts.get(session["payment_intent"]) == [out["amount_cents"]]


def test_a_booking_paid_by_wallet_and_card_at_once_takes_the_card_back(
    cards: Cards, app_clock: list[float], credits_now: None
) -> None:
    """The learner's wallet funds the booking while its card page is paid too (the wallet's
    transaction not indexed yet when the relayer checked): the relayer withdraws the card's request,
    and the card gets all of it back; the wallet's request stands."""
    made = _held_booking(cards, day=16)
    bid, learner = made["booking"]["id"], cards.stack.sign_in(CLIENT, cards.client)
    card = cards.client.post(f"/bookings/{bid}/card", headers=learner, json={"method": "stripe"}).json()
    if made.get("approval"):
        cards.stack.send(CLIENT, made["approval"])
    cards.stack.send(CLIENT, made["tx"])  # the wallet pays; the indexer has not seen it yet
    payment, deliveries = cards.pay("stripe", card)
    for d in deliveries:
        cards.deliver("stripe", d)
    cards.payments.process_jobs()  # the relayer funds too
    _settle(cards, passes=4)  # both indexed: taken back, withdrawn, refunded
    eid = cards.payments._engagement_for(payment)
    withdrawn = [e for e in cards.escrow().events.RequestWithdrawn.get_logs(from_block=0) if e.args.id == eid]
    assert len(withdrawn) == 1 and withdrawn[0].args.by == RELAYER.address
    assert cards.stripe.refund_amounts.get(cards.charges[payment]) == [card["amount_cents"]]
    assert (
        cards.client.get(f"/bookings/{bid}", headers=learner).json()["state"] == "requested"
    )  # the wallet's
