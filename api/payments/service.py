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

from api.observability import RELAYER_FEE_CAP, RELAYER_REPLACED
from chain.relayer import FeeCapReached, Fees, FeeTooLow, NonceTaken, Relayer, SignedTx, external_ref
from db.chain import engagements
from db.payments import payment_jobs, payment_quotes, payment_tx_attempts, stripe_events

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


@dataclass(frozen=True)
class RelayerPolicy:
    """When the worker gives up waiting for a transaction, when it calls one stuck, what it may pay."""

    wait_seconds: float = 30.0  # per pass; a transaction still pending is looked at again next pass
    stuck_seconds: int = 120  # since its latest attempt was sent: re-send at the same nonce, fees up
    max_fee: int = 500 * 10**9  # wei per gas


class Payments:
    def __init__(
        self,
        *,
        engine: Engine,
        config: StripeConfig,
        relayer: Relayer | None,
        chain_id: int,
        policy: RelayerPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.config = config
        self.relayer = relayer
        self.chain_id = chain_id
        self.policy = policy or RelayerPolicy()
        self.clock = clock
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
            # A job with a transaction out that may still be mined is never given up (nor refunded):
            # its attempts are forgotten only once their nonce was taken.
            pending = conn.execute(
                select(payment_tx_attempts.c.tx_hash).where(payment_tx_attempts.c.job_id == job_id).limit(1)
            ).first()
            status = "failed" if attempts >= MAX_ATTEMPTS and pending is None else job["status"]
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
        """One turn of a job: a first transaction, or a look at the ones it sent (mined? stuck?)."""
        assert self.relayer is not None
        relayer = self.relayer
        attempts = self._attempts(job["id"])
        if attempts:  # written before broadcasting: maybe sent, maybe not — find out, never re-sign
            self._follow(job, attempts)
            return
        if job["kind"] == "fund":
            if relayer.ref_used(external_ref(job["session_id"])):
                # Funded already (for instance by a run that crashed before recording anything).
                self._update(job["id"], status="done")
                self._quote_status(job, "funded")
                return
            quote = self._quote_of(job)
            relayer.ensure_allowance(quote["token"], sum(int(a) for a in json.loads(quote["amounts"])))
        nonce = relayer.next_nonce()
        signed = self._sign(job, nonce, relayer.fees(cap=self.policy.max_fee))
        self._record_attempt(job["id"], signed)
        relayer.broadcast(signed)
        self._update(job["id"], status="sent")
        receipt = relayer.wait_for(signed.hash, self.policy.wait_seconds)
        if receipt is not None:
            self._finish(job, receipt)

    def _follow(self, job: dict[str, Any], attempts: list[dict[str, Any]]) -> None:
        """The job's transactions went out (or were about to): finish on whichever was mined; else
        send the latest again (harmless when the node has it) and, once it has waited longer than
        the policy's stuck time, replace it at the same nonce with higher fees, up to the cap."""
        assert self.relayer is not None
        relayer = self.relayer
        for attempt in attempts:
            receipt = relayer.receipt(attempt["tx_hash"])
            if receipt is not None:
                self._finish(job, receipt)
                return
        latest = attempts[-1]
        if relayer.mined_nonce() > latest["nonce"]:
            # The nonce was taken by a transaction this job never recorded: only funding can tell
            # whether it was its own (the externalRef); otherwise start again with a fresh nonce.
            if job["kind"] == "fund" and relayer.ref_used(external_ref(job["session_id"])):
                self._update(job["id"], status="done")
                self._quote_status(job, "funded")
                return
            self._forget_attempts(job["id"])
            raise PaymentsError(
                f"nonce {latest['nonce']} was taken by another transaction: a fresh attempt follows"
            )
        underpriced = False
        try:
            relayer.broadcast(SignedTx(latest["raw_tx"], latest["tx_hash"], latest["nonce"]))
        except NonceTaken:
            pass  # an earlier attempt of ours is still in the node's pool: it is looked for by hash
        except FeeTooLow:
            underpriced = True  # the base fee rose above it: only a replacement can be mined
        if job["status"] != "sent":
            self._update(job["id"], status="sent")
        if not underpriced:
            receipt = relayer.wait_for(latest["tx_hash"], self.policy.wait_seconds)
            if receipt is not None:
                self._finish(job, receipt)
                return
        if self.clock() - latest["sent_at"] < self.policy.stuck_seconds:
            return
        try:
            fees = relayer.fees(
                cap=self.policy.max_fee, replacing=Fees(int(latest["max_fee"]), int(latest["tip"]))
            )
        except FeeCapReached as exc:
            RELAYER_FEE_CAP.inc()
            log.error(
                "payment job %s: transaction %s (nonce %s) is stuck and %s; raise "
                "SKILLCHAIN_RELAYER_MAX_FEE_GWEI or wait for the base fee to fall",
                job["id"],
                latest["tx_hash"],
                latest["nonce"],
                exc,
            )
            return
        replacement = self._sign(job, int(latest["nonce"]), fees)
        self._record_attempt(job["id"], replacement)  # before it is sent: a crash re-sends this one
        RELAYER_REPLACED.inc()
        log.warning(
            "payment job %s: %s not mined after %s s, replaced by %s at nonce %s (max fee %s wei)",
            job["id"],
            latest["tx_hash"],
            int(self.clock() - latest["sent_at"]),
            replacement.hash,
            replacement.nonce,
            fees.max_fee,
        )
        relayer.broadcast(replacement)
        receipt = relayer.wait_for(replacement.hash, self.policy.wait_seconds)
        if receipt is not None:
            self._finish(job, receipt)

    def _sign(self, job: dict[str, Any], nonce: int, fees: Fees) -> SignedTx:
        """The job's transaction at `nonce` with `fees` (the same call for a replacement)."""
        assert self.relayer is not None
        relayer = self.relayer
        if job["kind"] == "fund":
            q = self._quote_of(job)
            return relayer.sign_fund_for(
                client=q["client"],
                provider=q["provider"],
                token=q["token"],
                amounts=[int(a) for a in json.loads(q["amounts"])],
                due_dates=json.loads(q["due_dates"]),
                review_window=q["review_window"],
                arbiter=q["arbiter"],
                terms_digest=bytes.fromhex(q["terms_digest"][2:]),
                ref=external_ref(job["session_id"]),
                nonce=nonce,
                fees=fees,
            )
        engagement_id = self._engagement_for(job["session_id"])
        if engagement_id is None:
            raise PaymentsError("the funded engagement is not indexed yet")
        # Before the provider accepted there is nothing to dispute: the request is taken back whole.
        if self._engagement_status(engagement_id) == "requested":
            return relayer.sign_withdraw_request(engagement_id, nonce, fees)
        return relayer.sign_dispute(engagement_id, nonce, fees)

    def _quote_of(self, job: dict[str, Any]) -> dict[str, Any]:
        with self.engine.connect() as conn:
            q = (
                conn.execute(select(payment_quotes).where(payment_quotes.c.id == job["quote_id"]))
                .mappings()
                .first()
            )
        if q is None:
            raise PaymentsError(f"no quote for session {job['session_id']}")
        return dict(q)

    def _attempts(self, job_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(payment_tx_attempts)
                .where(payment_tx_attempts.c.job_id == job_id)
                .order_by(payment_tx_attempts.c.sent_at, payment_tx_attempts.c.max_fee)
            ).mappings()
            return [dict(r) for r in rows]

    def _record_attempt(self, job_id: int, signed: SignedTx) -> None:
        """The signed transaction, in the job and among its attempts, in one transaction, before it
        is broadcast."""
        assert signed.fees is not None
        now = int(self.clock())
        with self.engine.begin() as conn:
            conn.execute(
                insert(payment_tx_attempts).values(
                    tx_hash=signed.hash,
                    job_id=job_id,
                    nonce=signed.nonce,
                    raw_tx=signed.raw,
                    max_fee=signed.fees.max_fee,
                    tip=signed.fees.tip,
                    sent_at=now,
                )
            )
            conn.execute(
                update(payment_jobs)
                .where(payment_jobs.c.id == job_id)
                .values(
                    status="sending",
                    raw_tx=signed.raw,
                    tx_hash=signed.hash,
                    nonce=signed.nonce,
                    updated_at=now,
                )
            )

    def _forget_attempts(self, job_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(payment_tx_attempts).where(payment_tx_attempts.c.job_id == job_id))
            conn.execute(
                update(payment_jobs)
                .where(payment_jobs.c.id == job_id)
                .values(raw_tx=None, tx_hash=None, nonce=None, updated_at=int(self.clock()))
            )

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
        self._forget_attempts(job["id"])  # a fresh attempt next time
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
