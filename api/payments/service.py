"""Card payments: Stripe Checkout funds on-chain escrow exactly once.

Money moves exactly once whatever Stripe, the network or this process does:
- each Stripe event id is recorded once (primary key), so redeliveries change nothing;
- each payment has at most one job per kind (unique (kind, session)), so concurrent deliveries
  enqueue one fulfilment;
- the relayer writes the signed transaction (and its nonce) before broadcasting it, so after a crash
  the same transaction is re-sent, never a second one;
- and the escrow refuses a second `fundFor` with the same externalRef = keccak256(session id).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from chain.relayer import Relayer, external_ref
from db.chain import engagements
from db.payments import payment_jobs, payment_quotes, stripe_events

log = logging.getLogger("skillchain.payments")
MAX_ATTEMPTS = 5
OPEN = ("pending", "sending", "sent")
RELAYER_LOCK_CLASS = 7423002  # pg_advisory_lock(class, relayer): one sender per relayer account


class PaymentsError(Exception):
    """Root of payment errors."""


class NotConfigured(PaymentsError):
    """Raised when Stripe keys (or the relayer key) are not configured."""


class StripeUnavailable(PaymentsError):
    """Raised when Stripe cannot be reached (or refuses the request); nothing was recorded."""


class BadSignature(PaymentsError):
    """Raised when a webhook's Stripe-Signature does not verify (wrong secret, changed byte, too old)."""


def _signature_time(header: str | None) -> int | None:
    """The `t=` of a Stripe-Signature header."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    return None


@dataclass
class StripeConfig:
    secret_key: str
    webhook_secret: str
    api_base: str | None = None
    success_url: str = "http://127.0.0.1:8000/?paid={CHECKOUT_SESSION_ID}"
    cancel_url: str = "http://127.0.0.1:8000/?cancelled=1"


class Payments:
    def __init__(
        self, *, engine: Engine, config: StripeConfig, relayer: Relayer | None, chain_id: int
    ) -> None:
        self.engine = engine
        self.config = config
        self.relayer = relayer
        self.chain_id = chain_id
        base = {"api": config.api_base} if config.api_base else None
        self.stripe = stripe.StripeClient(config.secret_key, base_addresses=base, max_network_retries=2)  # type: ignore[arg-type]
        self._lock = threading.Lock()

    # ------------------------------------------------------------ quotes and checkout
    def create_checkout(
        self,
        *,
        client: str,
        provider: str,
        arbiter: str,
        token: str,
        amounts: list[int],
        due_dates: list[int],
        review_window: int,
        terms_digest: str,
        amount_cents: int,
        currency: str,
        ttl: int = 1800,
    ) -> dict[str, Any]:
        quote_id = str(uuid.uuid4())
        now = int(time.time())
        with self.engine.begin() as conn:
            conn.execute(
                insert(payment_quotes).values(
                    id=quote_id,
                    chain_id=self.chain_id,
                    client=client,
                    provider=provider,
                    arbiter=arbiter,
                    token=token,
                    amounts=json.dumps([str(a) for a in amounts]),
                    due_dates=json.dumps(due_dates),
                    review_window=review_window,
                    terms_digest=terms_digest,
                    amount_cents=amount_cents,
                    currency=currency,
                    expires_at=now + ttl,
                    status="quoted",
                    created_at=now,
                )
            )
        try:
            session = self._create_session(quote_id, now, ttl, currency, amount_cents, provider)
        except stripe.StripeError as exc:
            # No quote without a checkout: drop it, so a Stripe outage leaves nothing behind.
            with self.engine.begin() as conn:
                conn.execute(delete(payment_quotes).where(payment_quotes.c.id == quote_id))
            raise StripeUnavailable(
                f"Stripe did not create the checkout: {exc.user_message or type(exc).__name__}"
            ) from None
        with self.engine.begin() as conn:
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.id == quote_id)
                .values(checkout_session=session.id, status="checkout")
            )
        return {
            "quote_id": quote_id,
            "checkout_url": session.url,
            "session_id": session.id,
            "expires_at": now + ttl,
        }

    def _create_session(
        self, quote_id: str, now: int, ttl: int, currency: str, amount_cents: int, provider: str
    ) -> Any:
        return self.stripe.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "success_url": self.config.success_url,
                "cancel_url": self.config.cancel_url,
                "expires_at": now + ttl,
                "metadata": {"quote_id": quote_id},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": currency,
                            "unit_amount": amount_cents,
                            "product_data": {"name": f"Skillchain engagement with {provider[:10]}..."},
                        },
                    }
                ],
            },
            options={"idempotency_key": f"skillchain-quote-{quote_id}"},
        )

    # ------------------------------------------------------------ webhook
    def handle_webhook(self, payload: bytes, signature: str | None) -> str:
        """Verify, record, enqueue: fast, no chain work here. Returns what was done, for the log."""
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self.config.webhook_secret, tolerance=300
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise BadSignature(str(exc)) from None
        # Stripe's library bounds the age only; a timestamp from the future is as suspect as an old one.
        stamped = _signature_time(signature)
        if stamped is not None and stamped > time.time() + 300:
            raise BadSignature("the signature's timestamp is in the future")
        obj: dict[str, Any] = json.loads(payload)["data"]["object"]  # verified above: the payload is Stripe's
        with self.engine.connect() as conn:
            if conn.execute(select(stripe_events.c.id).where(stripe_events.c.id == event.id)).first():
                return "duplicate"
        # Whatever needs Stripe is asked first, outside any transaction; if Stripe cannot be reached
        # this raises (a 503): nothing is recorded, and Stripe's retry is processed in full.
        try:
            session = (
                self._session_for_intent(obj.get("payment_intent"))
                if event.type in ("charge.refunded", "charge.dispute.created")
                else None
            )
        except stripe.StripeError as exc:
            raise StripeUnavailable(f"Stripe could not be asked about this charge: {exc}") from None
        try:
            with self.engine.begin() as conn:
                # The event and what it causes commit together: a failure leaves neither.
                conn.execute(
                    insert(stripe_events).values(id=event.id, type=event.type, received_at=int(time.time()))
                )
                return self._apply(conn, event.type, obj, session)
        except IntegrityError:
            return "duplicate"  # the same event, delivered concurrently, was recorded first

    def _apply(self, conn: Connection, kind: str, obj: dict[str, Any], session: str | None) -> str:
        if kind == "checkout.session.completed":
            if obj.get("payment_status") == "paid":
                return self._enqueue(conn, "fund", obj["id"], self._quote_for(conn, obj))
            self._mark(conn, obj, "awaiting")
            return "awaiting asynchronous payment"
        if kind == "checkout.session.async_payment_succeeded":
            return self._enqueue(conn, "fund", obj["id"], self._quote_for(conn, obj))
        if kind == "checkout.session.async_payment_failed":
            self._mark(conn, obj, "failed")
            return "payment failed: nothing funded"
        if kind in ("charge.refunded", "charge.dispute.created"):
            if session is None:
                return "no funded engagement for this charge"
            return self._enqueue(conn, "dispute", session, None)
        return f"ignored {kind}"

    def _quote_for(self, conn: Connection, session: dict[str, Any]) -> str | None:
        metadata = session.get("metadata") or {}
        quote_id = metadata.get("quote_id")
        if quote_id:
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.id == quote_id)
                .values(checkout_session=session["id"])
            )
        return str(quote_id) if quote_id else None

    def _mark(self, conn: Connection, session: dict[str, Any], status: str) -> None:
        quote_id = (session.get("metadata") or {}).get("quote_id")
        conn.execute(
            update(payment_quotes)
            .where(payment_quotes.c.id == quote_id, payment_quotes.c.status != "funded")
            .values(status=status)
        )

    def _session_for_intent(self, intent: str | None) -> str | None:
        if not intent:
            return None
        with self.engine.begin() as conn:
            rows = (
                conn.execute(
                    select(payment_quotes.c.checkout_session).where(payment_quotes.c.status == "funded")
                )
                .scalars()
                .all()
            )
        for session_id in rows:
            session = self.stripe.v1.checkout.sessions.retrieve(session_id)
            if getattr(session, "payment_intent", None) == intent:
                return str(session_id)
        return None

    def _enqueue(self, conn: Connection, kind: str, session_id: str, quote_id: str | None) -> str:
        """Queue one job per (kind, payment) in the caller's transaction."""
        exists = conn.execute(
            select(payment_jobs.c.id).where(
                payment_jobs.c.kind == kind, payment_jobs.c.session_id == session_id
            )
        ).first()
        if exists:
            return f"{kind} already queued"
        now = int(time.time())
        conn.execute(
            insert(payment_jobs).values(
                kind=kind,
                session_id=session_id,
                quote_id=quote_id,
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
        return f"{kind} queued"

    # ------------------------------------------------------------ the durable job queue
    def process_jobs(self) -> int:
        """Work through pending jobs (the API's worker thread or `skillchain payments worker`)."""
        if self.relayer is None:
            raise NotConfigured("the relayer key is not configured (SKILLCHAIN_RELAYER_KEY)")
        done = 0
        with self._lock:  # one pass at a time in this process
            release = self._relayer_turn()
            if release is None:
                return 0  # another replica is sending with this relayer right now
            try:
                for job_id in self._open_jobs():
                    job = self._claim(job_id)
                    if job is None:
                        continue  # finished meanwhile
                    try:
                        self._run(job)
                        done += 1
                    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, the queue goes on
                        self._failed_attempt(job["id"], str(exc))
            finally:
                release()
        return done

    def _relayer_turn(self) -> Callable[[], None] | None:
        """Several API replicas run this worker; the relayer account has one nonce sequence, so one
        replica at a time sends: a PostgreSQL session advisory lock keyed on the relayer's address
        (released if the replica dies). On SQLite there is one process: the thread lock suffices."""
        if self.engine.dialect.name != "postgresql":
            return lambda: None
        assert self.relayer is not None
        key = {"cls": RELAYER_LOCK_CLASS, "who": int(self.relayer.address[-7:], 16)}
        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:cls, :who)"), key).scalar()
        conn.commit()
        if not got:
            conn.close()
            return None

        def release() -> None:
            conn.execute(text("SELECT pg_advisory_unlock(:cls, :who)"), key)
            conn.close()

        return release

    def _open_jobs(self) -> list[int]:
        with self.engine.connect() as conn:
            return [
                int(i)
                for i in conn.execute(
                    select(payment_jobs.c.id)
                    .where(payment_jobs.c.status.in_(OPEN))
                    .order_by(payment_jobs.c.id)
                ).scalars()
            ]

    def _claim(self, job_id: int) -> dict[str, Any] | None:
        """The job's current row, read under a row lock that skips a row another transaction holds
        (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL): a job finished or held elsewhere since the
        list was read is not run again."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    select(payment_jobs)
                    .where(payment_jobs.c.id == job_id, payment_jobs.c.status.in_(OPEN))
                    .with_for_update(skip_locked=True)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def _update(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(payment_jobs)
                .where(payment_jobs.c.id == job_id)
                .values(updated_at=int(time.time()), **values)
            )

    def _failed_attempt(self, job_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            job = conn.execute(select(payment_jobs).where(payment_jobs.c.id == job_id)).mappings().one()
            attempts = job["attempts"] + 1
            status = "failed" if attempts >= MAX_ATTEMPTS else job["status"]
            conn.execute(
                update(payment_jobs)
                .where(payment_jobs.c.id == job_id)
                .values(
                    attempts=attempts, status=status, last_error=error[:2000], updated_at=int(time.time())
                )
            )
        if status == "failed" and job["kind"] == "fund":
            self.refund(job["session_id"])

    def _run(self, job: dict[str, Any]) -> None:
        assert self.relayer is not None
        relayer = self.relayer
        if job["raw_tx"]:  # written before broadcasting: maybe sent, maybe not — find out, never re-sign
            receipt = relayer.receipt(job["tx_hash"])
            if receipt is None:
                from chain.relayer import SignedTx

                relayer.broadcast(SignedTx(job["raw_tx"], job["tx_hash"], job["nonce"]))
                receipt = relayer.wait(job["tx_hash"])
            self._finish(job, receipt)
            return
        if job["kind"] == "fund":
            ref = external_ref(job["session_id"])
            if relayer.ref_used(ref):  # funded already (for instance by a run that crashed before recording)
                self._update(job["id"], status="done")
                self._quote_status(job, "funded")
                return
            with self.engine.connect() as conn:
                q = (
                    conn.execute(select(payment_quotes).where(payment_quotes.c.id == job["quote_id"]))
                    .mappings()
                    .first()
                )
            if q is None:
                raise PaymentsError(f"no quote for session {job['session_id']}")
            amounts = [int(a) for a in json.loads(q["amounts"])]
            relayer.ensure_allowance(q["token"], sum(amounts))
            signed = relayer.sign_fund_for(
                client=q["client"],
                provider=q["provider"],
                token=q["token"],
                amounts=amounts,
                due_dates=json.loads(q["due_dates"]),
                review_window=q["review_window"],
                arbiter=q["arbiter"],
                terms_digest=bytes.fromhex(q["terms_digest"][2:]),
                ref=ref,
                nonce=relayer.next_nonce(),
            )
        else:
            engagement_id = self._engagement_for(job["session_id"])
            if engagement_id is None:
                raise PaymentsError("the funded engagement is not indexed yet")
            # Before the provider accepted there is nothing to dispute: the request is taken back whole.
            if self._engagement_status(engagement_id) == "requested":
                signed = relayer.sign_withdraw_request(engagement_id, relayer.next_nonce())
            else:
                signed = relayer.sign_dispute(engagement_id, relayer.next_nonce())
        self._update(job["id"], status="sending", raw_tx=signed.raw, tx_hash=signed.hash, nonce=signed.nonce)
        relayer.broadcast(signed)
        self._update(job["id"], status="sent")
        self._finish(job, relayer.wait(signed.hash))

    def _finish(self, job: dict[str, Any], receipt: dict[str, Any]) -> None:
        assert self.relayer is not None
        if receipt["status"] == 1:
            self._update(job["id"], status="done")
            if job["kind"] == "fund":
                self._quote_status(job, "funded")
            return
        if job["kind"] == "fund" and self.relayer.ref_used(external_ref(job["session_id"])):
            self._update(job["id"], status="done")  # reverted because it was already funded: fine
            self._quote_status(job, "funded")
            return
        self._update(job["id"], raw_tx=None, tx_hash=None, nonce=None)  # a fresh attempt next time
        raise PaymentsError(f"transaction {receipt.get('transactionHash')} reverted")

    def _quote_status(self, job: dict[str, Any], status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.checkout_session == job["session_id"])
                .values(status=status)
            )

    def _engagement_status(self, engagement_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(engagements.c.status).where(
                    engagements.c.chain_id == self.chain_id, engagements.c.id == engagement_id
                )
            ).scalar()

    def _engagement_for(self, session_id: str) -> int | None:
        ref = "0x" + external_ref(session_id).hex()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(engagements.c.id).where(
                    engagements.c.chain_id == self.chain_id, engagements.c.external_ref == ref
                )
            ).first()
        return int(row.id) if row else None

    # ------------------------------------------------------------ reconciliation and refunds
    def reconcile(self) -> dict[str, int]:
        """Find paid sessions never funded (the webhook was down) and fund each exactly once."""
        found = queued = 0
        for session in self.stripe.v1.checkout.sessions.list(
            params={"status": "complete", "limit": 100}
        ).auto_paging_iter():
            if getattr(session, "payment_status", None) != "paid":
                continue
            found += 1
            try:
                with self.engine.begin() as conn:
                    result = self._enqueue(conn, "fund", session.id, self._quote_for(conn, session.to_dict()))
            except IntegrityError:  # a webhook queued it at the same moment
                result = "fund already queued"
            if result == "fund queued":
                queued += 1
        processed = self.process_jobs()
        return {"paid_sessions": found, "queued": queued, "processed": processed}

    def refund(self, session_id: str) -> None:
        """Refund a payment whose funding failed for good (idempotent on Stripe's side)."""
        session = self.stripe.v1.checkout.sessions.retrieve(session_id)
        intent = getattr(session, "payment_intent", None)
        if not intent:
            return
        self.stripe.v1.refunds.create(
            params={"payment_intent": intent}, options={"idempotency_key": f"skillchain-refund-{session_id}"}
        )
        with self.engine.begin() as conn:
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.checkout_session == session_id)
                .values(status="refunded")
            )
