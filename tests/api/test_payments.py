"""Card payments: Stripe Checkout funds the escrow exactly once, against Stripe's wire format (a
stand-in) and a real anvil (the contract's externalRef check runs for real)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from api.app import create_app
from api.payments.service import Payments, RelayerPolicy
from chain.artifacts import load_artifact
from chain.relayer import SignedTx, external_ref
from chain.toolchain import PROJECT_ROOT
from chain.tx import anvil_account
from db.payments import payment_events, payment_jobs, payment_quotes, payment_tx_attempts
from tests.api.conftest_chain import Stack
from tests.api.stripe_standin import StripeStandIn, running_stripe_standin

SECRET = "whsec_test_skillchain"  # a test webhook secret for the stand-in, not a real one
CLIENT, PROVIDER = anvil_account(1), anvil_account(2)


@dataclass
class Pay:
    stack: Stack
    client: TestClient
    payments: Payments
    stripe: StripeStandIn

    def webhook(self, payload: bytes, signature: str | None = None) -> Any:
        return self.client.post(
            "/payments/webhook",
            content=payload,
            headers={
                "Stripe-Signature": signature or StripeStandIn.sign(payload, SECRET),
                "Content-Type": "application/json",
            },
        )

    def checkout(self) -> dict[str, Any]:
        due = int(time.time()) + 7 * 86400
        response = self.client.post(
            "/payments/checkout",
            headers=self.stack.sign_in(CLIENT),
            json={
                "provider": PROVIDER.address,
                "title": "Card-paid mentoring",
                "skill": "python",
                "milestones": [{"title": "one", "amount": "25000000", "due_date": due}],
            },
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def fundings(self, session_id: str) -> int:
        """EngagementCreated events on-chain carrying this payment's externalRef."""
        escrow = self.stack.w3.eth.contract(
            address=self.stack.record.address_of("SkillEscrow"), abi=load_artifact("SkillEscrow").abi
        )
        ref = external_ref(session_id)
        return sum(
            1
            for e in escrow.events.EngagementCreated.get_logs(from_block=0)
            if bytes(e.args.externalRef) == ref
        )

    def counts(self) -> tuple[int, int]:
        with self.payments.engine.connect() as conn:
            return (
                conn.execute(select(func.count()).select_from(payment_events)).scalar_one(),
                conn.execute(select(func.count()).select_from(payment_jobs)).scalar_one(),
            )


@pytest.fixture(scope="module")
def pay(stack: Stack) -> Iterator[Pay]:
    with running_stripe_standin() as (url, standin):
        settings = stack.settings.model_copy(
            update={
                "stripe_secret_key": "sk_test_standin",
                "stripe_webhook_secret": SECRET,
                "stripe_api_base": url,
                "payments_worker": False,
            }
        )
        from pydantic import SecretStr

        settings = settings.model_copy(
            update={
                "stripe_secret_key": SecretStr("sk_test_standin"),
                "stripe_webhook_secret": SecretStr(SECRET),
            }
        )
        app = create_app(settings)
        yield Pay(stack, TestClient(app), app.state.payments, standin)


def test_without_keys_the_routes_answer_503(stack: Stack) -> None:
    assert stack.client.post("/payments/webhook", content=b"{}").status_code == 503
    response = stack.client.post(
        "/payments/checkout",
        headers=stack.sign_in(CLIENT),
        json={
            "provider": PROVIDER.address,
            "title": "x",
            "skill": "python",
            "milestones": [{"title": "m", "amount": "10000", "due_date": int(time.time()) + 999}],
        },
    )
    assert response.status_code == 503 and response.json()["detail"] == "card payments are not configured"


def test_checkout_creates_a_hosted_session_idempotently(pay: Pay) -> None:
    out = pay.checkout()
    assert out["checkout_url"].startswith("https://checkout.stripe.test/") and out["amount_cents"] == 2500
    assert pay.stripe.idempotency_keys[-1] == f"skillchain-quote-{out['quote_id']}"
    assert pay.stripe.sessions[out["session_id"]]["metadata"]["quote_id"] == out["quote_id"]


def test_bad_signatures_are_400_and_write_nothing(pay: Pay) -> None:
    out = pay.checkout()
    payload = StripeStandIn.event(
        "checkout.session.completed", pay.stripe.complete(out["session_id"], paid=True)
    )
    before = pay.counts()
    assert pay.webhook(payload, StripeStandIn.sign(payload, "whsec_wrong")).status_code == 400
    changed = payload.replace(b'"paid"', b'"paiD"')
    assert pay.webhook(changed, StripeStandIn.sign(payload, SECRET)).status_code == 400
    old = StripeStandIn.sign(payload, SECRET, timestamp=int(time.time()) - 301)
    assert pay.webhook(payload, old).status_code == 400
    assert pay.webhook(payload, "garbage").status_code == 400
    assert pay.counts() == before


def test_same_event_ten_times_in_a_row_and_concurrently_funds_once(pay: Pay) -> None:
    out = pay.checkout()
    payload = StripeStandIn.event(
        "checkout.session.completed", pay.stripe.complete(out["session_id"], paid=True)
    )
    results = [pay.webhook(payload).json()["result"] for _ in range(10)]
    assert results[0] == "fund queued" and set(results[1:]) == {"duplicate"}
    other = pay.checkout()
    concurrent = StripeStandIn.event(
        "checkout.session.completed", pay.stripe.complete(other["session_id"], paid=True)
    )
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(lambda _: pay.webhook(concurrent).status_code, range(10)))
    assert codes == [200] * 10
    pay.payments.process_jobs()
    pay.payments.process_jobs()  # a second pass finds nothing left to do
    assert pay.fundings(out["session_id"]) == 1 and pay.fundings(other["session_id"]) == 1
    with pay.payments.engine.connect() as conn:
        jobs = conn.execute(
            select(payment_jobs).where(
                payment_jobs.c.session_id.in_([out["session_id"], other["session_id"]])
            )
        ).all()
    assert len(jobs) == 2 and all(j.status == "done" for j in jobs)


def test_unpaid_completion_waits_for_async_success_and_failure_never_funds(pay: Pay) -> None:
    a, b, c = pay.checkout(), pay.checkout(), pay.checkout()
    assert (
        pay.webhook(
            StripeStandIn.event(
                "checkout.session.completed", pay.stripe.complete(a["session_id"], paid=False)
            )
        )
        .json()["result"]
        .startswith("awaiting")
    )
    pay.payments.process_jobs()
    assert pay.fundings(a["session_id"]) == 0
    assert (
        pay.webhook(
            StripeStandIn.event(
                "checkout.session.async_payment_succeeded", pay.stripe.pay_async(a["session_id"])
            )
        ).json()["result"]
        == "fund queued"
    )
    # b: the success arrives before the (unpaid) completion
    pay.webhook(
        StripeStandIn.event("checkout.session.async_payment_succeeded", pay.stripe.pay_async(b["session_id"]))
    )
    pay.webhook(
        StripeStandIn.event("checkout.session.completed", pay.stripe.complete(b["session_id"], paid=False))
    )
    # c: fails
    pay.webhook(
        StripeStandIn.event("checkout.session.completed", pay.stripe.complete(c["session_id"], paid=False))
    )
    pay.webhook(
        StripeStandIn.event("checkout.session.async_payment_failed", pay.stripe.sessions[c["session_id"]])
    )
    pay.payments.process_jobs()
    assert (pay.fundings(a["session_id"]), pay.fundings(b["session_id"]), pay.fundings(c["session_id"])) == (
        1,
        1,
        0,
    )


def test_relayer_crash_after_sending_does_not_double_fund(pay: Pay, monkeypatch: pytest.MonkeyPatch) -> None:
    out = pay.checkout()
    pay.webhook(
        StripeStandIn.event("checkout.session.completed", pay.stripe.complete(out["session_id"], paid=True))
    )
    original = Payments._update

    def crash_after_broadcast(self: Payments, job_id: int, **values: Any) -> None:
        if values.get("status") == "sent":
            raise SystemExit("relayer killed between sending and recording")
        original(self, job_id, **values)

    monkeypatch.setattr(Payments, "_update", crash_after_broadcast)
    with pytest.raises(SystemExit):
        pay.payments.process_jobs()
    monkeypatch.setattr(Payments, "_update", original)
    pay.payments.process_jobs()  # the restarted worker finds the signed tx and confirms it
    assert pay.fundings(out["session_id"]) == 1


def test_sent_but_never_recorded_is_caught_by_the_contract(pay: Pay, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worst case: the transaction went out and nothing at all was recorded. The next attempt sees the
    externalRef used; and a second fundFor with it really reverts on-chain."""
    out = pay.checkout()
    pay.webhook(
        StripeStandIn.event("checkout.session.completed", pay.stripe.complete(out["session_id"], paid=True))
    )
    original = Payments._record_attempt

    def lose_the_record(self: Payments, job_id: int, signed: SignedTx) -> None:
        assert self.relayer is not None  # made on the worker's first use
        self.relayer.broadcast(signed)
        self.relayer.wait(signed.hash)
        raise SystemExit("crashed before writing anything")

    monkeypatch.setattr(Payments, "_record_attempt", lose_the_record)
    with pytest.raises(SystemExit):
        pay.payments.process_jobs()
    monkeypatch.setattr(Payments, "_record_attempt", original)
    pay.payments.process_jobs()
    assert pay.fundings(out["session_id"]) == 1
    relayer = pay.payments.relayer
    from api.payments import service

    quote = (
        pay.payments.engine.connect()
        .execute(
            select(service.payment_quotes).where(
                service.payment_quotes.c.checkout_session == out["session_id"]
            )
        )
        .mappings()
        .one()
    )
    import json

    assert relayer is not None
    from eth_hash.auto import keccak
    from web3.exceptions import ContractCustomError

    with pytest.raises(ContractCustomError) as refused:  # the escrow refuses a second fundFor, for real
        relayer.sign_fund_for(
            client=quote["client"],
            provider=quote["provider"],
            token=quote["token"],
            amounts=[int(a) for a in json.loads(quote["amounts"])],
            due_dates=json.loads(quote["due_dates"]),
            review_window=quote["review_window"],
            arbiter=quote["arbiter"],
            terms_digest=bytes.fromhex(quote["terms_digest"][2:]),
            ref=external_ref(out["session_id"]),
            nonce=relayer.next_nonce(),
        )
    selector = "0x" + bytes(keccak(b"EscrowExternalRefUsed(bytes32)"))[:4].hex()
    assert str(refused.value.data).startswith(selector)
    assert pay.fundings(out["session_id"]) == 1


def _chargeback_events(pay: Pay, *, accept: bool) -> tuple[int, Any]:
    """A paid card checkout (a request), optionally accepted and delivered, then disputed at the bank."""
    out = pay.checkout()
    session = pay.stripe.complete(out["session_id"], paid=True)
    pay.webhook(StripeStandIn.event("checkout.session.completed", session))
    pay.payments.process_jobs()
    pay.stack.index()
    eid = pay.payments._engagement_for(out["session_id"])
    assert eid is not None
    if accept:
        c, provider = pay.stack.client, pay.stack.sign_in(PROVIDER)
        pay.stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=provider).json())
        sub = c.post(f"/engagements/{eid}/milestones/0/submit", headers=provider, json={"summary": "done"})
        pay.stack.send(PROVIDER, sub.json()["tx"])
        pay.stack.index()
    charge = {"id": f"ch_{eid}", "object": "charge", "payment_intent": session["payment_intent"]}
    dispute = {
        "id": f"du_{eid}",
        "object": "dispute",
        "charge": f"ch_{eid}",
        "payment_intent": session["payment_intent"],
    }
    assert (
        pay.webhook(StripeStandIn.event("charge.dispute.created", dispute)).json()["result"]
        == "dispute queued"
    )
    assert (
        pay.webhook(StripeStandIn.event("charge.refunded", charge)).json()["result"]
        == "dispute already queued"
    )
    pay.payments.process_jobs()
    pay.payments.process_jobs()
    pay.stack.index()
    escrow = pay.stack.w3.eth.contract(
        address=pay.stack.record.address_of("SkillEscrow"), abi=load_artifact("SkillEscrow").abi
    )
    return eid, escrow


def test_chargeback_raises_exactly_one_dispute(pay: Pay) -> None:
    eid, escrow = _chargeback_events(pay, accept=True)
    raised = [
        e for e in escrow.events.DisputeRaised.get_logs(from_block=0) if e.args.by == anvil_account(8).address
    ]
    assert [e.args.id for e in raised].count(eid) == 1


def test_chargeback_before_acceptance_withdraws_the_request_once(pay: Pay) -> None:
    eid, escrow = _chargeback_events(pay, accept=False)
    withdrawn = [e for e in escrow.events.RequestWithdrawn.get_logs(from_block=0) if e.args.id == eid]
    assert len(withdrawn) == 1 and withdrawn[0].args.by == anvil_account(8).address
    assert not [e for e in escrow.events.DisputeRaised.get_logs(from_block=0) if e.args.id == eid]


def test_reconcile_funds_paid_sessions_the_webhook_missed_exactly_once(pay: Pay) -> None:
    missed = [pay.checkout(), pay.checkout()]
    for m in missed:
        pay.stripe.complete(m["session_id"], paid=True)  # paid on Stripe; no webhook ever arrives
    first = pay.payments.reconcile()
    assert first["queued"] >= 2
    second = pay.payments.reconcile()
    assert second["queued"] == 0
    assert [pay.fundings(m["session_id"]) for m in missed] == [1, 1]


def test_permanently_failing_funding_is_refunded_once(pay: Pay) -> None:
    out = pay.checkout()
    pay.webhook(
        StripeStandIn.event("checkout.session.completed", pay.stripe.complete(out["session_id"], paid=True))
    )
    with pay.payments.engine.begin() as conn:  # a quote that can never fund (arbiter = the client)
        conn.execute(
            payment_quotes.update()
            .where(payment_quotes.c.checkout_session == out["session_id"])
            .values(arbiter=CLIENT.address)
        )
    for _ in range(6):
        pay.payments.process_jobs()
    intent = pay.stripe.sessions[out["session_id"]]["payment_intent"]
    assert pay.stripe.refunds[intent] == 1 and pay.fundings(out["session_id"]) == 0


def test_checkout_when_stripe_is_unreachable_is_a_503_and_leaves_no_quote(stack: Stack) -> None:
    from pydantic import SecretStr

    from tests.net import free_port

    settings = stack.settings.model_copy(
        update={
            "stripe_secret_key": SecretStr("sk_test_standin"),
            "stripe_webhook_secret": SecretStr(SECRET),
            "stripe_api_base": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "payments_worker": False,
        }
    )
    app = create_app(settings)
    with app.state.payments.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(payment_quotes)).scalar_one()
    response = TestClient(app).post(
        "/payments/checkout",
        headers=stack.sign_in(CLIENT),
        json={
            "provider": PROVIDER.address,
            "title": "Stripe is down",
            "skill": "python",
            "milestones": [{"title": "one", "amount": "25000000", "due_date": int(time.time()) + 86400}],
        },
    )
    assert response.status_code == 503, response.text
    assert "card payments are unavailable" in response.json()["detail"]
    with app.state.payments.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payment_quotes)).scalar_one() == before


def test_a_webhook_signed_an_hour_in_the_future_is_refused(pay: Pay) -> None:
    payload = StripeStandIn.event(
        "checkout.session.completed", {"id": "cs_future", "object": "checkout.session"}
    )
    future = StripeStandIn.sign(payload, SECRET, timestamp=int(time.time()) + 3600)
    assert pay.webhook(payload, future).status_code == 400


def test_a_webhook_whose_processing_fails_records_nothing_and_its_retry_raises_the_dispute(
    pay: Pay, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stripe as stripe_lib

    from tests.net import free_port

    out = pay.checkout()
    session = pay.stripe.complete(out["session_id"], paid=True)
    pay.webhook(StripeStandIn.event("checkout.session.completed", session))
    pay.payments.process_jobs()
    pay.stack.index()
    eid = pay.payments._engagement_for(out["session_id"])
    assert eid is not None
    c, provider = pay.stack.client, pay.stack.sign_in(PROVIDER)
    pay.stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=provider).json())
    sub = c.post(f"/engagements/{eid}/milestones/0/submit", headers=provider, json={"summary": "done"})
    pay.stack.send(PROVIDER, sub.json()["tx"])  # submitted work: the chargeback can dispute it
    pay.stack.index()
    dispute = {"id": f"du_r{eid}", "object": "dispute", "payment_intent": session["payment_intent"]}
    delivery = StripeStandIn.event("charge.dispute.created", dispute, event_id=f"evt_retry_{eid}")
    with (
        pay.payments.engine.begin() as conn
    ):  # a payment funded before charges were recorded: Stripe is asked
        conn.execute(
            payment_quotes.update()
            .where(payment_quotes.c.checkout_session == out["session_id"])
            .values(provider_charge=None)
        )
    before = pay.counts()
    down = stripe_lib.StripeClient(
        "sk_test_standin", base_addresses={"api": f"http://127.0.0.1:{free_port()}"}, max_network_retries=0
    )
    stripe_provider = pay.payments.providers["stripe"]
    monkeypatch.setattr(stripe_provider, "client", down)  # Stripe's API is unreachable for this delivery
    failed = pay.webhook(delivery)
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    assert pay.counts() == before  # neither the event nor a job: nothing says "seen"
    monkeypatch.undo()
    retried = pay.webhook(delivery)  # Stripe retries the same event
    assert retried.status_code == 200 and retried.json()["result"] == "dispute queued"
    assert pay.webhook(delivery).json()["result"] == "duplicate"
    pay.payments.process_jobs()
    pay.stack.index()
    escrow = pay.stack.w3.eth.contract(
        address=pay.stack.record.address_of("SkillEscrow"), abi=load_artifact("SkillEscrow").abi
    )
    assert [e.args.id for e in escrow.events.DisputeRaised.get_logs(from_block=0)].count(eid) == 1


def test_two_replicas_on_postgresql_fund_each_paid_session_exactly_once(pay: Pay) -> None:
    """20 paid sessions, the payment worker of two API replicas racing on one PostgreSQL database:
    one replica sends at a time (the relayer's lock), each job is claimed under SKIP LOCKED."""
    import threading

    from tests.api.conftest import pg_database

    with pg_database() as url:
        settings = pay.client.app.state.settings.model_copy(update={"database_url": url})  # type: ignore[attr-defined]
        replicas = [create_app(settings), create_app(settings)]
        clients = [TestClient(app) for app in replicas]
        headers = pay.stack.sign_in(CLIENT, clients[0])
        due = int(time.time()) + 7 * 86400
        sessions = []
        for i in range(20):
            out = clients[i % 2].post(
                "/payments/checkout",
                headers=headers,
                json={
                    "provider": PROVIDER.address,
                    "title": f"Raced {i}",
                    "skill": "python",
                    "milestones": [{"title": "one", "amount": "10000", "due_date": due}],
                },
            )
            assert out.status_code == 200, out.text
            session = pay.stripe.complete(out.json()["session_id"], paid=True)
            payload = StripeStandIn.event("checkout.session.completed", session)
            signed = {
                "Stripe-Signature": StripeStandIn.sign(payload, SECRET),
                "Content-Type": "application/json",
            }
            for client in clients:  # both replicas receive the delivery: queued once
                client.post("/payments/webhook", content=payload, headers=signed)
            sessions.append(session["id"])
        start = threading.Barrier(2)

        def work(app: Any) -> None:
            start.wait()
            for _ in range(30):
                app.state.payments.process_jobs()
                time.sleep(0.05)

        threads = [threading.Thread(target=work, args=(app,)) for app in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert [pay.fundings(s) for s in sessions] == [1] * 20
        with replicas[0].state.payments.engine.connect() as conn:
            statuses = conn.execute(select(payment_jobs.c.status)).scalars().all()
        assert statuses == ["done"] * 20
        for app in replicas:
            app.state.payments.engine.dispose()


def _rpc(pay: Pay, method: str, *params: Any) -> Any:
    return pay.stack.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]


@contextmanager
def _automine_off(pay: Pay) -> Iterator[None]:
    """Blocks only when the test mines one: a sent transaction stays pending until then."""
    _rpc(pay, "evm_setAutomine", False)
    try:
        yield
    finally:
        _rpc(pay, "evm_setAutomine", True)
        _rpc(pay, "evm_mine")


def _attempts(pay: Pay, session_id: str) -> list[dict[str, Any]]:
    with pay.payments.engine.connect() as conn:
        job = conn.execute(
            select(payment_jobs.c.id).where(
                payment_jobs.c.session_id == session_id, payment_jobs.c.kind == "fund"
            )
        ).scalar_one()
        rows = conn.execute(
            select(payment_tx_attempts)
            .where(payment_tx_attempts.c.job_id == job)
            .order_by(payment_tx_attempts.c.sent_at)
        ).mappings()
        return [dict(r) for r in rows]


def _job_status(pay: Pay, session_id: str) -> str:
    with pay.payments.engine.connect() as conn:
        return str(
            conn.execute(
                select(payment_jobs.c.status).where(
                    payment_jobs.c.session_id == session_id, payment_jobs.c.kind == "fund"
                )
            ).scalar_one()
        )


@pytest.fixture
def stuck(pay: Pay, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict[str, Any], list[float]]]:
    """A paid checkout whose funding transaction went out and sits unmined under a base fee above
    what it offered; the worker's clock is the test's (`now[0] += seconds`)."""
    payments = pay.payments
    payments.process_jobs()  # the relayer is made on first use
    assert payments.relayer is not None
    payments.relayer.ensure_allowance(pay.stack.record.address_of("TestStablecoin"), 10**30)
    now = [time.time() - 3600]  # the first attempt is sent "an hour ago" by the worker's clock
    monkeypatch.setattr(payments, "clock", lambda: now[0])
    monkeypatch.setattr(payments, "policy", RelayerPolicy(wait_seconds=0.2, stuck_seconds=60, max_fee=10**12))
    out = pay.checkout()
    pay.webhook(
        StripeStandIn.event("checkout.session.completed", pay.stripe.complete(out["session_id"], paid=True))
    )
    with _automine_off(pay):
        payments.process_jobs()  # sent; no block comes
        [first] = _attempts(pay, out["session_id"])
        assert _job_status(pay, out["session_id"]) == "sent"
        _rpc(pay, "anvil_setNextBlockBaseFeePerGas", hex(int(first["max_fee"]) * 2))
        _rpc(pay, "evm_mine")  # a block at a base fee above the attempt's max fee leaves it out
        assert payments.relayer.receipt(first["tx_hash"]) is None
        yield out, now
        _rpc(pay, "anvil_setNextBlockBaseFeePerGas", hex(10**9))  # calm again for the next test
    assert pay.fundings(out["session_id"]) == 1


def test_a_stuck_funding_is_replaced_at_the_same_nonce_mined_once_and_recorded_once(
    pay: Pay, stuck: tuple[dict[str, Any], list[float]]
) -> None:
    out, now = stuck
    payments, relayer = pay.payments, pay.payments.relayer
    assert relayer is not None
    payments.process_jobs()  # not stuck yet: only a minute counts as stuck here
    assert len(_attempts(pay, out["session_id"])) == 1
    now[0] += 3661
    payments.process_jobs()
    first, bumped = _attempts(pay, out["session_id"])
    assert bumped["nonce"] == first["nonce"] and bumped["tx_hash"] != first["tx_hash"]
    assert int(bumped["max_fee"]) > int(first["max_fee"]) * 2 and int(bumped["tip"]) > int(first["tip"])
    _rpc(pay, "evm_mine")
    payments.process_jobs()
    assert _job_status(pay, out["session_id"]) == "done"
    mined = [a["tx_hash"] for a in (first, bumped) if relayer.receipt(a["tx_hash"]) is not None]
    assert mined == [bumped["tx_hash"]]
    assert len(_attempts(pay, out["session_id"])) == 2  # recorded once each


def test_at_the_fee_cap_a_stuck_funding_is_left_alone_and_alerted(
    pay: Pay,
    stuck: tuple[dict[str, Any], list[float]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out, now = stuck
    payments = pay.payments
    [first] = _attempts(pay, out["session_id"])
    capped = RelayerPolicy(wait_seconds=0.2, stuck_seconds=60, max_fee=int(first["max_fee"]) * 3 // 2)
    monkeypatch.setattr(payments, "policy", capped)
    alerts = REGISTRY.get_sample_value("skillchain_relayer_fee_cap_reached_total") or 0.0
    now[0] += 3661
    with caplog.at_level("ERROR", logger="skillchain.payments"):
        payments.process_jobs()
    assert len(_attempts(pay, out["session_id"])) == 1  # nothing paid above the cap
    assert REGISTRY.get_sample_value("skillchain_relayer_fee_cap_reached_total") == alerts + 1
    assert any("SKILLCHAIN_RELAYER_MAX_FEE_GWEI" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(payments, "policy", RelayerPolicy(wait_seconds=0.2, stuck_seconds=60, max_fee=10**12))
    payments.process_jobs()  # the operator raised the cap
    assert len(_attempts(pay, out["session_id"])) == 2
    _rpc(pay, "evm_mine")
    payments.process_jobs()
    assert _job_status(pay, out["session_id"]) == "done"


@pytest.mark.parametrize("when", ["after recording, before sending", "after sending, before anything else"])
def test_a_crash_around_the_replacement_funds_nothing_twice(
    pay: Pay, stuck: tuple[dict[str, Any], list[float]], monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    out, now = stuck
    payments, relayer = pay.payments, pay.payments.relayer
    assert relayer is not None
    [first] = _attempts(pay, out["session_id"])
    real = type(relayer).broadcast

    def killed(self: Any, tx: SignedTx) -> None:
        if tx.hash != first["tx_hash"]:  # the replacement
            if when.startswith("after sending"):
                real(self, tx)
            raise SystemExit(f"worker killed {when}")
        real(self, tx)

    monkeypatch.setattr(type(relayer), "broadcast", killed)
    now[0] += 3661
    with pytest.raises(SystemExit):
        payments.process_jobs()
    monkeypatch.setattr(type(relayer), "broadcast", real)
    assert len(_attempts(pay, out["session_id"])) == 2  # recorded before it was sent
    payments.process_jobs()  # the restarted worker re-sends the recorded replacement, signs nothing new
    assert len(_attempts(pay, out["session_id"])) == 2
    _rpc(pay, "evm_mine")
    payments.process_jobs()
    assert _job_status(pay, out["session_id"]) == "done"


def test_a_worker_sigkilled_right_after_sending_the_replacement_funds_nothing_twice(
    pay: Pay, stuck: tuple[dict[str, Any], list[float]]
) -> None:
    """A real SIGKILL, in a child process running the worker from the environment (as `skillchain
    payments worker` does), the instant the node accepted the replacement; then a restarted worker."""
    import os
    import signal
    import subprocess
    import sys

    out, _ = stuck
    [first] = _attempts(pay, out["session_id"])
    s = pay.client.app.state.settings  # type: ignore[attr-defined]
    env = {
        **os.environ,
        "SKILLCHAIN_DATA_DIR": str(s.data_dir),
        "SKILLCHAIN_DATABASE_URL": s.effective_database_url,
        "SKILLCHAIN_ANVIL_PORT": str(s.anvil_port),
        "SKILLCHAIN_DEPLOYMENTS_DIR": str(s.deployments_dir),
        "SKILLCHAIN_STRIPE_SECRET_KEY": "sk_test_standin",
        "SKILLCHAIN_STRIPE_WEBHOOK_SECRET": SECRET,
        "SKILLCHAIN_STRIPE_API_BASE": str(s.stripe_api_base),
        "SKILLCHAIN_RELAYER_WAIT_SECONDS": "0.2",
        "SKILLCHAIN_RELAYER_STUCK_SECONDS": "60",  # the attempt was sent an hour ago
        "SKILLCHAIN_RELAYER_MAX_FEE_GWEI": "1000",  # the stuck fixture's cap
    }
    child = subprocess.run(
        [sys.executable, "-m", "tests.api.kill_after_replacement", first["tx_hash"]],
        env=env,
        cwd=str(PROJECT_ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    attempts = _attempts(pay, out["session_id"])
    assert len(attempts) == 2 and attempts[1]["nonce"] == first["nonce"]  # recorded before it was sent
    pay.payments.process_jobs()  # restarted: re-sends the recorded replacement, signs nothing new
    _rpc(pay, "evm_mine")
    pay.payments.process_jobs()
    assert _job_status(pay, out["session_id"]) == "done" and len(_attempts(pay, out["session_id"])) == 2


def test_on_sqlite_one_process_at_a_time_sends_for_the_relayer(pay: Pay) -> None:
    """`skillchain payments worker` beside the API's worker on one SQLite database: a file lock
    beside the database lets one of them send at a time (the relayer has one nonce sequence)."""
    from api.payments.service import Payments as Plain

    pay.payments.process_jobs()  # the relayer is made on first use
    other = Plain(
        engine=pay.payments.engine,
        providers=pay.payments.providers,
        relayer=pay.payments.relayer,
        chain_id=31337,
    )
    release = pay.payments._relayer_turn()
    assert release is not None
    assert other._relayer_turn() is None and other.process_jobs() == 0  # waits its turn
    release()
    again = other._relayer_turn()
    assert again is not None
    again()
