"""Stripe behind the provider interface: Checkout Sessions (a hosted page), signed webhooks
(`Stripe-Signature`, verified by stripe-python), refunds keyed by an Idempotency-Key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from api.payments.providers.base import (
    BadSignature,
    Checkout,
    ProviderEvent,
    ProviderUnavailable,
    refund_tag,
)

TOLERANCE = 300  # seconds a signature's timestamp may be off, either way


@dataclass(frozen=True)
class StripeConfig:
    secret_key: str
    webhook_secret: str
    api_base: str | None = None
    success_url: str = "http://127.0.0.1:8000/?paid={CHECKOUT_SESSION_ID}"
    cancel_url: str = "http://127.0.0.1:8000/?cancelled=1"


def _signature_time(header: str | None) -> int | None:
    """The `t=` of a Stripe-Signature header."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    return None


class StripeProvider:
    name = "stripe"
    currencies = frozenset({"usd"})  # the stablecoin is a dollar: charged 1:1 in cents

    def __init__(self, config: StripeConfig) -> None:
        self.config = config
        base = {"api": config.api_base} if config.api_base else None
        self.client = stripe.StripeClient(config.secret_key, base_addresses=base, max_network_retries=2)  # type: ignore[arg-type]

    def create_checkout(
        self, *, quote_id: str, amount: int, currency: str, description: str, expires_at: int
    ) -> Checkout:
        try:
            session = self.client.v1.checkout.sessions.create(
                params={
                    "mode": "payment",
                    "success_url": self.config.success_url,
                    "cancel_url": self.config.cancel_url,
                    "expires_at": expires_at,
                    "metadata": {"quote_id": quote_id},
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": currency,
                                "unit_amount": amount,
                                "product_data": {"name": description},
                            },
                        }
                    ],
                },
                options={"idempotency_key": f"skillchain-quote-{quote_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(
                f"Stripe did not create the checkout: {exc.user_message or type(exc).__name__}"
            ) from None
        return Checkout(payment=session.id, page=session.id, url=str(session.url))

    def expire_checkout(self, page: str) -> None:
        try:
            self.client.v1.checkout.sessions.expire(page)
        except stripe.InvalidRequestError as exc:
            try:  # refused because it is not open (paid, or expired already): nothing left to close
                if getattr(self.client.v1.checkout.sessions.retrieve(page), "status", None) != "open":
                    return
            except stripe.StripeError:
                pass
            raise ProviderUnavailable(f"Stripe did not expire {page}: {exc.user_message or exc}") from None
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe did not expire {page}: {type(exc).__name__}") from None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        signature = headers.get("stripe-signature")
        if not signature:
            raise BadSignature("the Stripe-Signature header is missing")
        try:
            event = stripe.Webhook.construct_event(
                body, signature, self.config.webhook_secret, tolerance=TOLERANCE
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise BadSignature(str(exc)) from None
        # Stripe's library bounds the age only; a timestamp from the future is as suspect as an old one.
        stamped = _signature_time(signature)
        if stamped is not None and stamped > time.time() + TOLERANCE:
            raise BadSignature("the signature's timestamp is in the future")
        obj: dict[str, Any] = json.loads(body)["data"]["object"]  # verified above: the body is Stripe's
        kind, eid = str(event.type), str(event.id)
        if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            paid = kind.endswith("succeeded") or obj.get("payment_status") == "paid"
            return ProviderEvent(
                id=eid,
                type=kind,
                action="fund" if paid else "awaiting",
                payment=obj.get("id"),
                quote_id=(obj.get("metadata") or {}).get("quote_id"),
                charge=obj.get("payment_intent"),
                amount=obj.get("amount_total"),
                currency=str(obj["currency"]).lower() if obj.get("currency") else None,
            )
        if kind == "checkout.session.async_payment_failed":
            return ProviderEvent(
                id=eid,
                type=kind,
                action="failed",
                payment=obj.get("id"),
                quote_id=(obj.get("metadata") or {}).get("quote_id"),
            )
        if kind == "charge.refunded":
            refunds = (obj.get("refunds") or {}).get("data") or []
            return ProviderEvent(
                id=eid,
                type=kind,
                action="refunded",
                charge=obj.get("payment_intent"),
                refunded_total=obj.get("amount_refunded"),  # cumulative; the refunds list is not sent
                refund=refunds[0].get("id") if refunds else None,
            )
        if kind == "refund.failed":  # a refund object whose money could not go back to the card
            return ProviderEvent(
                id=eid,
                type=kind,
                action="refund_failed",
                charge=obj.get("payment_intent"),
                refund=obj.get("id"),
                refund_key=(obj.get("metadata") or {}).get("skillchain_key"),
            )
        if kind == "charge.dispute.created":
            return ProviderEvent(
                id=eid,
                type=kind,
                action="dispute",
                charge=obj.get("payment_intent"),
                amount=obj.get("amount"),
            )
        if kind == "charge.dispute.closed":
            outcome = {"won": "dispute_won", "lost": "dispute_lost"}.get(str(obj.get("status")))
            if outcome is not None:
                return ProviderEvent(id=eid, type=kind, action=outcome, charge=obj.get("payment_intent"))  # type: ignore[arg-type]
        return ProviderEvent(id=eid, type=kind, action="ignored")

    def quote_of_payment(self, payment: str) -> str | None:
        """The quote in the Checkout Session's metadata."""
        try:
            session = self.client.v1.checkout.sessions.retrieve(payment)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(
                f"Stripe could not be asked about {payment}: {type(exc).__name__}"
            ) from None
        quote = (session.to_dict().get("metadata") or {}).get("quote_id")
        return str(quote) if quote else None

    def payment_of_charge(self, charge: str, candidates: list[str]) -> str | None:
        """Asks Stripe for each candidate session's payment intent (payments recorded before their
        intent was)."""
        try:
            for session_id in candidates:
                session = self.client.v1.checkout.sessions.retrieve(session_id)
                if getattr(session, "payment_intent", None) == charge:
                    return session_id
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe could not be asked about this charge: {exc}") from None
        return None

    def refund(self, *, payment: str, charge: str | None, amount: int, key: str) -> str:
        try:
            intent = charge or getattr(
                self.client.v1.checkout.sessions.retrieve(payment), "payment_intent", None
            )
            if not intent:
                raise ProviderUnavailable(f"Stripe knows no payment intent for {payment}: nothing to refund")
            # A refund for this reason made earlier — even past the 24 hours Stripe keeps an
            # Idempotency-Key — is found by the tag in its metadata, and returned instead of a second.
            tag = refund_tag(key)
            for existing in self.client.v1.refunds.list(
                params={"payment_intent": intent, "limit": 100}
            ).auto_paging_iter():
                if (existing.to_dict().get("metadata") or {}).get("skillchain_key") == tag:
                    return str(existing.id)
            made = self.client.v1.refunds.create(
                params={
                    "payment_intent": intent,
                    "amount": amount,
                    "metadata": {"skillchain_key": refund_tag(key)},
                },
                options={"idempotency_key": key},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(
                f"Stripe did not refund: {exc.user_message or type(exc).__name__}"
            ) from None
        return str(made.id)

    def paid_payments(self) -> Iterator[tuple[str, str | None, str | None]]:
        try:
            for session in self.client.v1.checkout.sessions.list(
                params={"status": "complete", "limit": 100}
            ).auto_paging_iter():
                if getattr(session, "payment_status", None) == "paid":
                    quote = (session.to_dict().get("metadata") or {}).get("quote_id")
                    yield session.id, quote, getattr(session, "payment_intent", None)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe could not list the paid sessions: {exc}") from None
