"""Card payments: a provider's hosted page (Stripe Checkout, a Razorpay Payment Link) funds on-chain
escrow exactly once. Nothing here knows a provider: each speaks through api/payments/providers.

Money moves exactly once whatever the provider, the network or this process does:
- each webhook event is recorded once per provider (primary key), so redeliveries change nothing;
- each payment has at most one job per kind (unique (kind, payment)), so concurrent deliveries —
  Razorpay's `payment.captured` and `order.paid` for one order, in either order — enqueue one funding;
- the relayer records each signed transaction (and its nonce) before broadcasting it, so after a
  crash the same transaction is re-sent, never a second one;
- and the escrow refuses a second `fundFor` with the same externalRef = keccak256(payment key).
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from api.observability import REFUNDS_FAILED, RELAYER_FEE_CAP, RELAYER_REPLACED
from api.payments.providers.base import (
    BadSignature,
    NotConfigured,
    PaymentProvider,
    PaymentsError,
    ProviderEvent,
    ProviderUnavailable,
    refund_tag,
)
from chain.relayer import FeeCapReached, Fees, FeeTooLow, NonceTaken, Relayer, SignedTx, external_ref
from db.booking import bookings
from db.chain import chain_events, engagements
from db.payments import (
    card_credits,
    card_refunds,
    payment_events,
    payment_jobs,
    payment_quotes,
    payment_tx_attempts,
)

__all__ = [
    "BadSignature",
    "NotConfigured",
    "Payments",
    "PaymentsError",
    "ProviderUnavailable",
    "RelayerPolicy",
]

log = logging.getLogger("skillchain.payments")
MAX_ATTEMPTS = 5
OPEN = ("pending", "sending", "sent")
PAID_HOLD_SECONDS = 86400  # a paid booking's hold, until its funding is indexed
RELAYER_LOCK_CLASS = 7423002  # pg_advisory_lock(class, relayer): one sender per relayer account


@dataclass(frozen=True)
class RelayerPolicy:
    """When the worker gives up waiting for a transaction, when it calls one stuck, what it may pay."""

    wait_seconds: float = 30.0  # per pass; a transaction still pending is looked at again next pass
    stuck_seconds: int = 120  # since its latest attempt was sent: re-send at the same nonce, fees up
    max_fee: int = 500 * 10**9  # wei per gas


@dataclass(frozen=True)
class CheckoutCreated:
    quote_id: str
    method: str
    checkout_url: str
    session_id: str  # the hosted page's id (a Checkout Session, a payment link)
    expires_at: int


class Payments:
    def __init__(
        self,
        *,
        engine: Engine,
        providers: Mapping[str, PaymentProvider],
        relayer: Relayer | None,
        chain_id: int,
        policy: RelayerPolicy | None = None,
        clock: Callable[[], float] = time.time,
        credit_depth: int = 12,
    ) -> None:
        self.credit_depth = credit_depth  # blocks before an escrow credit is final enough to refund
        self.engine = engine
        self.providers = dict(providers)
        self.relayer = relayer
        self.chain_id = chain_id
        self.policy = policy or RelayerPolicy()
        self.clock = clock
        self._lock = threading.Lock()

    def provider(self, method: str) -> PaymentProvider:
        found = self.providers.get(method)
        if found is None:
            raise NotConfigured(f"{method} payments are not configured on this server")
        return found

    def methods_for(self, currency: str) -> list[str]:
        """The configured providers that take `currency` (ISO 4217, any case)."""
        return sorted(m for m, p in self.providers.items() if currency.lower() in p.currencies)

    # ------------------------------------------------------------ quotes and checkout
    def create_checkout(
        self,
        *,
        method: str,
        client: str,
        provider: str,
        arbiter: str,
        token: str,
        amounts: list[int],
        due_dates: list[int],
        review_window: int,
        terms_digest: str,
        amount_minor: int,
        currency: str,
        ttl: int = 1800,
        booking_id: str | None = None,
    ) -> CheckoutCreated:
        """A quote and the provider's hosted page for it; nothing kept if the provider fails. A
        booking's quote funds only while the booking's hold lasts (its hold is the page's life)."""
        gateway = self.provider(method)
        if currency.lower() not in gateway.currencies:
            raise NotConfigured(f"{method} does not take {currency.upper()} here")
        quote_id = str(uuid.uuid4())
        now = int(self.clock())
        with self.engine.begin() as conn:
            conn.execute(
                insert(payment_quotes).values(
                    booking_id=booking_id,
                    id=quote_id,
                    chain_id=self.chain_id,
                    client=client,
                    provider=provider,
                    method=method,
                    arbiter=arbiter,
                    token=token,
                    amounts=json.dumps([str(a) for a in amounts]),
                    due_dates=json.dumps(due_dates),
                    review_window=review_window,
                    terms_digest=terms_digest,
                    amount_cents=amount_minor,
                    currency=currency.lower(),
                    expires_at=now + ttl,
                    status="quoted",
                    created_at=now,
                )
            )
        try:
            page = gateway.create_checkout(
                quote_id=quote_id,
                amount=amount_minor,
                currency=currency.lower(),
                description=f"Skillchain engagement with {provider[:10]}...",
                expires_at=now + ttl,
            )
        except ProviderUnavailable:
            # No quote without a checkout: drop it, so an outage leaves nothing behind.
            with self.engine.begin() as conn:
                conn.execute(delete(payment_quotes).where(payment_quotes.c.id == quote_id))
            raise
        with self.engine.begin() as conn:
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.id == quote_id)
                .values(checkout_session=page.payment, hosted_page=page.page, status="checkout")
            )
        return CheckoutCreated(quote_id, method, page.url, page.page, now + ttl)

    # ------------------------------------------------------------ webhooks
    def handle_webhook(self, method: str, body: bytes, headers: Mapping[str, str]) -> str:
        """Verify, record, enqueue: fast, no chain work here. Returns what was done, for the log."""
        gateway = self.provider(method)
        event = gateway.parse_webhook(body, headers)
        with self.engine.connect() as conn:
            seen = conn.execute(
                select(payment_events.c.id).where(
                    payment_events.c.provider == method, payment_events.c.id == event.id
                )
            ).first()
        if seen:
            return "duplicate"
        # Whatever needs the provider is asked first, outside any transaction; if it cannot be reached
        # this raises (a 503): nothing is recorded, and the provider's retry is processed in full.
        event = self._resolve(method, gateway, event)
        try:
            with self.engine.begin() as conn:
                # The event and what it causes commit together: a failure leaves neither.
                conn.execute(
                    insert(payment_events).values(
                        provider=method, id=event.id, type=event.type, received_at=int(time.time())
                    )
                )
                return self._apply(conn, method, event)
        except IntegrityError:
            return "duplicate"  # the same event, delivered concurrently, was recorded first

    def _resolve(self, method: str, gateway: PaymentProvider, event: ProviderEvent) -> ProviderEvent:
        """Fill in the payment (and for a funding, the quote) an event names only by charge or order."""
        if event.action == "fund" and event.quote_id is None and event.payment:
            with self.engine.connect() as conn:
                known = conn.execute(
                    select(payment_quotes.c.id).where(payment_quotes.c.checkout_session == event.payment)
                ).scalar()
            return replace(event, quote_id=known or gateway.quote_of_payment(event.payment))
        if event.action in ("dispute", "refunded", "dispute_lost", "dispute_won") and event.charge:
            with self.engine.connect() as conn:
                known = conn.execute(
                    select(payment_quotes.c.checkout_session).where(
                        payment_quotes.c.method == method, payment_quotes.c.provider_charge == event.charge
                    )
                ).scalar()
                candidates = (
                    []
                    if known is not None or event.payment is not None
                    else list(
                        conn.execute(
                            select(payment_quotes.c.checkout_session)
                            .where(
                                payment_quotes.c.method == method,
                                payment_quotes.c.status == "funded",
                                payment_quotes.c.provider_charge.is_(None),
                            )
                            .order_by(payment_quotes.c.created_at.desc())
                            .limit(50)  # payments funded before charges were recorded: the newest
                        ).scalars()
                    )
                )
            if candidates:  # asked of the provider with no database connection held
                known = gateway.payment_of_charge(event.charge, candidates)
            return replace(event, payment=known or event.payment)
        return event

    def _apply(self, conn: Connection, method: str, event: ProviderEvent) -> str:
        if event.action == "fund":
            quote = self._quote_row(conn, event.quote_id)
            if quote is None or quote["method"] != method or event.payment is None:
                return "no quote for this payment"
            if event.currency is not None and event.currency != str(quote["currency"]).lower():
                conn.execute(
                    update(payment_quotes).where(payment_quotes.c.id == quote["id"]).values(status="mismatch")
                )
                log.error(
                    "payment %s paid in %s, the quote says %s: not funded",
                    event.payment,
                    event.currency,
                    quote["currency"],
                )
                return "currency differs from the quote: not funded"
            if event.amount is None or int(event.amount) != int(quote["amount_cents"]):
                conn.execute(
                    update(payment_quotes).where(payment_quotes.c.id == quote["id"]).values(status="mismatch")
                )
                log.error(
                    "payment %s paid %s, the quote says %s: not funded",
                    event.payment,
                    event.amount,
                    quote["amount_cents"],
                )
                return "amount differs from the quote: not funded"
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.id == quote["id"])
                .values(
                    checkout_session=event.payment, provider_charge=event.charge or quote["provider_charge"]
                )
            )
            late = self._booking_gone(conn, quote)
            if late is not None:  # the slot is no longer this payment's: the money goes back
                log.warning(
                    "payment %s for booking %s arrived when %s: refunded",
                    event.payment,
                    quote["booking_id"],
                    late,
                )
                conn.execute(
                    update(payment_quotes).where(payment_quotes.c.id == quote["id"]).values(status="late")
                )
                return f"{late}: {self._enqueue(conn, 'refund', event.payment, quote['id'])}"
            if quote["booking_id"]:
                # Paid in time: the slot stays this payment's until the relayer's funding is indexed
                # (a day at most; a funded request then keeps its slot by itself).
                conn.execute(
                    update(bookings)
                    .where(bookings.c.id == quote["booking_id"], bookings.c.status == "held")
                    .values(hold_expires_at=int(self.clock()) + PAID_HOLD_SECONDS)
                )
            return self._enqueue(conn, "fund", event.payment, quote["id"])
        if event.action in ("awaiting", "failed"):
            conn.execute(
                update(payment_quotes)
                .where(
                    or_(
                        payment_quotes.c.id == event.quote_id,
                        payment_quotes.c.checkout_session == event.payment,
                    ),
                    payment_quotes.c.status != "funded",
                )
                .values(status=event.action)
            )
            return (
                "awaiting asynchronous payment"
                if event.action == "awaiting"
                else "payment failed: nothing funded"
            )
        if event.action == "refunded":
            return self._refunded(conn, method, event)
        if event.action == "refund_failed":
            rows = (
                conn.execute(
                    select(card_refunds)
                    .where(card_refunds.c.provider == method)
                    .where(
                        or_(
                            card_refunds.c.refund_id == event.refund,
                            card_refunds.c.payment == (event.payment or ""),
                        )
                    )
                )
                .mappings()
                .all()
            )
            failed = [
                r
                for r in rows
                if r["refund_id"] == event.refund
                or (event.refund_key is not None and refund_tag(r["key"]) == event.refund_key)
            ]
            for r in failed:
                conn.execute(
                    update(card_refunds)
                    .where(card_refunds.c.key == r["key"])
                    .values(
                        status="failed", refund_id=r["refund_id"] or event.refund, updated_at=int(time.time())
                    )
                )
                REFUNDS_FAILED.inc()
                log.error(
                    "refund %s (%s, %s minor units) did not reach the card: pay it back by hand and mark it",
                    event.refund,
                    r["key"],
                    r["amount"],
                )
            return "refund failure recorded" if failed else "ignored: not one of our refunds"
        if event.action == "dispute":
            if event.payment is None:
                return "no funded engagement for this charge"
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.checkout_session == event.payment)
                .values(dispute_status="open")
            )
            return self._enqueue(conn, "dispute", event.payment, None)
        if event.action in ("dispute_lost", "dispute_won"):
            outcome = event.action.removeprefix("dispute_")
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.checkout_session == event.payment)
                .values(dispute_status=outcome)
            )
            return f"dispute {outcome} recorded"
        return f"ignored {event.type}"

    def _refunded(self, conn: Connection, method: str, event: ProviderEvent) -> str:
        """A refund the provider made: one of ours (found by its id, by the tag it carries, or — for
        Stripe, which sends no refund list — by the payment's refunded total not exceeding what we
        asked for, even before our refund's id was stored), or one made from the provider's
        dashboard, which takes the escrow back (the card already has the money)."""
        now = int(time.time())
        ours = (
            conn.execute(
                select(card_refunds).where(
                    card_refunds.c.provider == method,
                    card_refunds.c.payment == event.payment
                    if event.payment
                    else card_refunds.c.refund_id == event.refund,
                )
            )
            .mappings()
            .all()
        )
        mine = [
            r
            for r in ours
            if (event.refund is not None and r["refund_id"] == event.refund)
            or (event.refund_key is not None and refund_tag(r["key"]) == event.refund_key)
        ]
        if not mine and event.refunded_total is not None and ours:
            if event.refunded_total <= sum(int(r["amount"]) for r in ours):
                mine = list(ours)
        if mine:
            for r in mine:
                conn.execute(
                    update(card_refunds)
                    .where(card_refunds.c.key == r["key"])
                    .values(
                        status="processed",
                        refund_id=r["refund_id"] or (event.refund if len(mine) == 1 else None),
                        updated_at=now,
                    )
                )
            return "refund recorded"
        if event.payment is None:
            return "no funded engagement for this charge"
        # Refunded from the provider's dashboard: the money went back, so the escrow is taken back.
        return self._enqueue(conn, "dispute", event.payment, None)

    def _booking_gone(self, conn: Connection, quote: Mapping[str, Any]) -> str | None:
        """Why a booking's card payment must not fund (in words), or None: its hold lapsed or was
        released, or the booking was funded otherwise (the wallet) meanwhile."""
        if not quote["booking_id"]:
            return None
        booking = (
            conn.execute(select(bookings).where(bookings.c.id == quote["booking_id"])).mappings().first()
        )
        if booking is None or not booking["active"] or booking["status"] != "held":
            return "the booking was released"
        if booking["hold_expires_at"] <= int(self.clock()):
            return "the booking's hold had lapsed"
        funded = conn.execute(
            select(engagements.c.id).where(
                engagements.c.chain_id == self.chain_id, engagements.c.terms_digest == booking["terms_digest"]
            )
        ).first()
        if funded is not None:
            return "the booking was paid from a wallet already"
        return None

    @staticmethod
    def _quote_row(conn: Connection, quote_id: str | None) -> dict[str, Any] | None:
        if not quote_id:
            return None
        row = conn.execute(select(payment_quotes).where(payment_quotes.c.id == quote_id)).mappings().first()
        return dict(row) if row else None

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
                try:
                    self.refund_credits()
                except Exception:
                    log.exception("card refunds of escrow credits: pass failed")
                try:
                    self.take_back_duplicates()
                except Exception:
                    log.exception("taking back card fundings of bookings a wallet paid: pass failed")
                try:
                    self.expire_lapsed()
                except Exception:
                    log.exception("closing the hosted pages of lapsed holds: pass failed")
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
        """Several API replicas (and `skillchain payments worker`) run this worker; the relayer account
        has one nonce sequence, so one process at a time sends: on PostgreSQL a session advisory lock
        keyed on the relayer's address, on SQLite an exclusive lock on a file beside the database
        (both released if the process dies). None: another process is sending right now."""
        assert self.relayer is not None
        if self.engine.dialect.name != "postgresql":
            return self._file_turn()
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

    def _file_turn(self) -> Callable[[], None] | None:
        assert self.relayer is not None
        database = self.engine.url.database
        if not database or database == ":memory:":
            return lambda: None  # one process by construction
        path = f"{database}.relayer-{self.relayer.address.lower()}.lock"
        handle = open(path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None

        def release() -> None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

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
            # Money owed back to a card is never given up: a refund retries until the provider answers.
            given_up = (
                attempts >= MAX_ATTEMPTS
                and pending is None
                and job["kind"] not in ("refund", "withdraw", "take_back")
            )
            status = "failed" if given_up else job["status"]
            conn.execute(
                update(payment_jobs)
                .where(payment_jobs.c.id == job_id)
                .values(
                    attempts=attempts, status=status, last_error=error[:2000], updated_at=int(time.time())
                )
            )
        if status == "failed" and job["kind"] == "fund":  # the card's money back, as a durable job
            with self.engine.begin() as conn:
                self._enqueue(conn, "refund", job["session_id"], job["quote_id"])

    def _run(self, job: dict[str, Any]) -> None:
        """One turn of a job: a first transaction, or a look at the ones it sent (mined? stuck?)."""
        assert self.relayer is not None
        relayer = self.relayer
        if job["kind"] == "refund":  # a card payment that must not fund: all of it back, once
            self.refund(job["session_id"])
            self._update(job["id"], status="done")
            return
        attempts = self._attempts(job["id"])
        if attempts:  # written before broadcasting: maybe sent, maybe not — find out, never re-sign
            self._follow(job, attempts)
            return
        if job["kind"] == "fund":
            with self.engine.connect() as conn:
                gone = self._booking_gone(conn, self._quote_of(job))
            if gone is not None:  # e.g. the wallet funded the booking after the card was paid
                log.warning("payment %s not funded: %s; refunded", job["session_id"], gone)
                self.refund(job["session_id"])
                self._update(job["id"], status="done")
                return
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
        if job["kind"] == "withdraw":  # session_id: withdraw:<token>:<the credit that asked for it>
            return relayer.sign_withdraw(job["session_id"].split(":")[1], nonce, fees)
        engagement_id = self._engagement_for(job["session_id"])
        if engagement_id is None:
            raise PaymentsError("the funded engagement is not indexed yet")
        if job["kind"] == "take_back":  # a booking both a wallet and this card paid: ours goes back
            return relayer.sign_withdraw_request(engagement_id, nonce, fees)
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
                select(payment_tx_attempts).where(payment_tx_attempts.c.job_id == job_id)
            ).mappings()
            # In the order they were signed: each replacement pays more (fees as integers, not text).
            return sorted((dict(r) for r in rows), key=lambda r: (r["sent_at"], int(r["max_fee"])))

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
        """Find paid payments never funded (the webhook was down) and fund each exactly once."""
        found = queued = 0
        for method, gateway in self.providers.items():
            for payment, quote_id, charge in gateway.paid_payments():
                found += 1
                try:
                    with self.engine.begin() as conn:
                        quote = self._quote_row(conn, quote_id)
                        if quote is None or quote["method"] != method:
                            continue
                        if quote["status"] in ("mismatch", "refunded"):
                            continue  # left for an operator (another amount was paid), or done
                        conn.execute(
                            update(payment_quotes)
                            .where(payment_quotes.c.id == quote_id)
                            .values(
                                checkout_session=payment, provider_charge=charge or quote["provider_charge"]
                            )
                        )
                        # Paid but its slot is gone (its webhook never came, the hold lapsed): the
                        # money goes back — once, the refund keyed on the payment.
                        gone = (
                            quote["status"] in ("late", "expired")
                            or self._booking_gone(conn, quote) is not None
                        )
                        result = self._enqueue(conn, "refund" if gone else "fund", payment, quote_id)
                except IntegrityError:  # a webhook queued it at the same moment
                    result = "fund already queued"
                if result == "fund queued":
                    queued += 1
        processed = self.process_jobs()
        return {"paid_sessions": found, "queued": queued, "processed": processed}

    def refund(self, session_id: str) -> None:
        """Refund in full a payment whose funding failed for good (once: keyed on the payment)."""
        with self.engine.connect() as conn:
            quote = (
                conn.execute(select(payment_quotes).where(payment_quotes.c.checkout_session == session_id))
                .mappings()
                .first()
            )
        if quote is None:
            return
        self.refund_card(
            method=quote["method"],
            payment=session_id,
            charge=quote["provider_charge"],
            amount=int(quote["amount_cents"]),
            key=f"skillchain-refund-{session_id}",
        )
        with self.engine.begin() as conn:
            conn.execute(
                update(payment_quotes)
                .where(payment_quotes.c.checkout_session == session_id)
                .values(status="refunded")
            )

    def refund_card(self, *, method: str, payment: str, charge: str | None, amount: int, key: str) -> str:
        """Money back to the card, exactly once per `key`: the reason is recorded before the provider
        is asked, and asked again with the same key after a crash (the provider returns the first)."""
        now = int(time.time())
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(card_refunds).values(
                        key=key,
                        provider=method,
                        payment=payment,
                        amount=amount,
                        status="pending",
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            with self.engine.connect() as conn:
                row = conn.execute(select(card_refunds).where(card_refunds.c.key == key)).mappings().one()
            if row["refund_id"]:
                return str(row["refund_id"])
        refund_id = self.provider(method).refund(payment=payment, charge=charge, amount=amount, key=key)
        with self.engine.begin() as conn:
            conn.execute(
                update(card_refunds)
                .where(card_refunds.c.key == key, card_refunds.c.status == "pending")
                .values(refund_id=refund_id, status="requested", updated_at=int(time.time()))
            )
        return refund_id

    # ------------------------------------------------------------ escrow credits back to the card
    def refund_credits(self) -> dict[str, int]:
        """What the escrow credited the relayer for card-funded engagements goes back to the cards:
        each credit (a refunded milestone; the payer's share of an arbiter's resolution) is recorded
        once by its event, final by `credit_depth` blocks; the relayer withdraws it; then the card gets
        the credit's share of what it paid, once (card_refunds' key). The card keeps nothing twice:
        a payment charged back or refunded from the dashboard already has its money back."""
        assert self.relayer is not None
        final_block = self.relayer.head() - self.credit_depth
        recorded = self._record_credits(final_block)
        refunded = withdrawing = 0
        with self.engine.connect() as conn:
            pending = [
                dict(r)
                for r in conn.execute(
                    select(card_credits, engagements.c.token)
                    .join(
                        engagements,
                        (engagements.c.chain_id == self.chain_id)
                        & (engagements.c.id == card_credits.c.engagement_id),
                    )
                    .where(card_credits.c.status == "pending")
                    .order_by(card_credits.c.block_number, card_credits.c.log_index)
                ).mappings()
            ]
            withdrawals = conn.execute(
                select(chain_events.c.block_number, chain_events.c.log_index, chain_events.c.args).where(
                    chain_events.c.chain_id == self.chain_id,
                    chain_events.c.event == "Withdrawn",
                    chain_events.c.block_number <= final_block,  # a reorg cannot take it back
                )
            ).all()
        relayer = self.relayer.address.lower()
        pulled: dict[str, tuple[int, int]] = {}  # token -> the relayer's latest withdrawal (block, log)
        for w in withdrawals:
            args = json.loads(w.args)
            if str(args["account"]).lower() == relayer:
                token = str(args["token"]).lower()
                pulled[token] = max(pulled.get(token, (-1, -1)), (int(w.block_number), int(w.log_index)))
        asked: set[str] = set()
        for credit in pending:
            token = credit["token"].lower()
            if pulled.get(token, (-1, -1)) > (credit["block_number"], credit["log_index"]):
                try:
                    refunded += self._refund_credit(credit)
                except Exception:
                    log.exception(
                        "credit %s: the card refund failed; it is tried again next pass", credit["key"]
                    )
            elif token not in asked:  # one withdrawal per token pulls every credit before it
                asked.add(token)
                with self.engine.begin() as conn:
                    if (
                        self._enqueue(conn, "withdraw", f"withdraw:{credit['token']}:{credit['key']}", None)
                        == "withdraw queued"
                    ):
                        withdrawing += 1
        return {"recorded": recorded, "withdrawing": withdrawing, "refunded": refunded}

    def _record_credits(self, final_block: int) -> int:
        """Insert the credits of final escrow events not recorded yet; how many were new."""
        relayer = self.relayer.address.lower() if self.relayer else ""
        with self.engine.connect() as conn:
            funded = {
                "0x" + external_ref(q.checkout_session).hex(): q
                for q in conn.execute(
                    # Any status: an engagement with the payment's externalRef is what proves the funding
                    # (a crash between the job's end and the quote's "funded" must not lose a credit).
                    select(payment_quotes).where(payment_quotes.c.checkout_session.is_not(None))
                )
            }
            if not funded:
                return 0
            card_funded = {
                int(e.id): e
                for e in conn.execute(
                    select(engagements).where(
                        engagements.c.chain_id == self.chain_id, engagements.c.external_ref.in_(list(funded))
                    )
                )
                if str(e.payer).lower() == relayer
            }
            events = conn.execute(
                select(chain_events)
                .where(
                    chain_events.c.chain_id == self.chain_id,
                    chain_events.c.event.in_(("MilestoneRefunded", "DisputeResolved")),
                    chain_events.c.block_number <= final_block,
                )
                .order_by(chain_events.c.block_number, chain_events.c.log_index)
            ).all()
            known = set(conn.execute(select(card_credits.c.key)).scalars())
            # Credited so far per payment: each credit's share comes from the running total, so the
            # shares of a fully refunded engagement add up to what the card paid, to the unit.
            credited: dict[str, int] = {}
            for payment, amount in conn.execute(select(card_credits.c.payment, card_credits.c.amount)):
                credited[payment] = credited.get(payment, 0) + int(amount)
        new = 0
        now = int(time.time())
        for ev in events:
            args = json.loads(ev.args)
            engagement = card_funded.get(int(args["id"]))
            key = f"{self.chain_id}:{ev.tx_hash}:{ev.log_index}"
            if engagement is None or key in known:
                continue
            if ev.event == "MilestoneRefunded":
                amount = int(args["amount"])
            elif args.get("byTimeout") in (True, "true", "True"):
                continue  # the default rule's refunds are MilestoneRefunded events of their own
            else:
                amount = int(args["payerAmount"])
            if amount == 0:
                continue
            quote = funded[engagement.external_ref]
            total = sum(int(a) for a in json.loads(quote.amounts))
            before = credited.get(quote.checkout_session, 0)
            paid = int(quote.amount_cents)
            # Rounded down, from the running total: never more than was paid, never a unit lost overall.
            share = (before + amount) * paid // total - before * paid // total
            credited[quote.checkout_session] = before + amount
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(card_credits).values(
                            key=key,
                            payment=quote.checkout_session,
                            engagement_id=int(args["id"]),
                            block_number=int(ev.block_number),
                            log_index=int(ev.log_index),
                            amount=amount,
                            refund_minor=share,
                            status="pending",  # kept instead, at refund time, if charged back
                            created_at=now,
                            updated_at=now,
                        )
                    )
                new += 1
            except IntegrityError:
                continue  # recorded by another pass meanwhile
        return new

    def _refund_credit(self, credit: dict[str, Any]) -> int:
        """Refund one withdrawn credit to its card (1), or keep it (0) when the payment was charged
        back or refunded from the dashboard meanwhile: the card has that money already."""
        with self.engine.connect() as conn:
            quote = (
                conn.execute(
                    select(payment_quotes).where(payment_quotes.c.checkout_session == credit["payment"])
                )
                .mappings()
                .one()
            )
            charged_back = (
                quote["dispute_status"] is not None
                or conn.execute(
                    select(payment_jobs.c.id).where(
                        payment_jobs.c.kind == "dispute", payment_jobs.c.session_id == credit["payment"]
                    )
                ).first()
                is not None
            )
        if not charged_back and credit["refund_minor"] > 0:
            self.refund_card(
                method=quote["method"],
                payment=credit["payment"],
                charge=quote["provider_charge"],
                amount=int(credit["refund_minor"]),
                key=f"skillchain-credit-{credit['key']}",
            )
        with self.engine.begin() as conn:
            conn.execute(
                update(card_credits)
                .where(card_credits.c.key == credit["key"])
                .values(status="kept" if charged_back else "refunded", updated_at=int(time.time()))
            )
        return 0 if charged_back else 1

    def expire_lapsed(self) -> int:
        """Close the hosted pages of booking quotes whose hold lapsed unpaid (through the provider's
        API: nobody can pay for a slot that is no longer held); how many were closed. A payment that
        still arrives is refunded (`_booking_gone`)."""
        now = int(self.clock())
        with self.engine.connect() as conn:
            lapsed = conn.execute(
                select(payment_quotes.c.id, payment_quotes.c.method, payment_quotes.c.hosted_page)
                .join(bookings, bookings.c.id == payment_quotes.c.booking_id)
                .where(
                    payment_quotes.c.status.in_(("checkout", "awaiting", "failed")),
                    bookings.c.hold_expires_at <= now,
                )
            ).all()
        closed = 0
        for quote in lapsed:
            gateway = self.providers.get(quote.method)
            if gateway is None or not quote.hosted_page:
                continue
            try:
                gateway.expire_checkout(quote.hosted_page)
            except ProviderUnavailable:
                log.warning("the page of quote %s could not be closed yet; next pass", quote.id)
                continue
            with self.engine.begin() as conn:
                conn.execute(
                    update(payment_quotes)
                    .where(
                        payment_quotes.c.id == quote.id,
                        payment_quotes.c.status.in_(("checkout", "awaiting", "failed")),
                    )
                    .values(status="expired")
                )
            closed += 1
        return closed

    def take_back_duplicates(self) -> int:
        """A booking both a wallet and a card paid (the wallet's transaction was not indexed yet when
        the card's funding was checked): the card's engagement, not accepted yet, is withdrawn by the
        relayer (its payer); the credit then goes back to the card like any other. How many were queued."""
        assert self.relayer is not None
        relayer = self.relayer.address
        ours = engagements.alias("ours")
        theirs = engagements.alias("theirs")
        with self.engine.connect() as conn:
            doubled = conn.execute(
                select(ours.c.external_ref)
                .join(theirs, (theirs.c.terms_digest == ours.c.terms_digest) & (theirs.c.id != ours.c.id))
                .join(payment_quotes, payment_quotes.c.terms_digest == ours.c.terms_digest)
                .where(
                    ours.c.chain_id == self.chain_id,
                    theirs.c.chain_id == self.chain_id,
                    func.lower(ours.c.payer) == relayer.lower(),
                    ours.c.status == "requested",
                    func.lower(theirs.c.payer) != relayer.lower(),
                    theirs.c.status.not_in(("withdrawn", "declined")),
                    payment_quotes.c.booking_id.is_not(None),
                )
            ).all()
            refs = {r.external_ref for r in doubled}
            payments = [
                q
                for q in conn.execute(
                    select(payment_quotes.c.checkout_session).where(
                        payment_quotes.c.booking_id.is_not(None),
                        payment_quotes.c.checkout_session.is_not(None),
                    )
                ).scalars()
                if "0x" + external_ref(q).hex() in refs
            ]
        queued = 0
        for payment in payments:
            with self.engine.begin() as conn:
                if self._enqueue(conn, "take_back", payment, None) == "take_back queued":
                    log.warning(
                        "payment %s funded a booking a wallet paid too: taken back, refunded", payment
                    )
                    queued += 1
        return queued
