"""Razorpay behind the provider interface, through the official `razorpay` SDK: a Payment Link (a
hosted page: no Razorpay script in the dApp) whose payment Razorpay binds to an order; webhooks
signed with `X-Razorpay-Signature` = HMAC-SHA256(raw body, webhook secret), compared in constant
time by the SDK; refunds on the payment, keyed by a note the worker looks for before refunding again.

One payment = one order: `payment.captured` and `order.paid` both arrive for it, in any order, and
both name the order, which is what jobs and the escrow's externalRef key on. The quote is found by
the `quote_id` note the link carries onto its payment and order, else by the order's receipt or
notes asked of the Orders API."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import razorpay
import razorpay.errors
import requests

from api.payments.providers.base import (
    BadSignature,
    Checkout,
    ProviderEvent,
    ProviderUnavailable,
    refund_tag,
)

_API_ERRORS = (razorpay.errors.BadRequestError, razorpay.errors.GatewayError, razorpay.errors.ServerError)
_NETWORK_ERRORS = (requests.RequestException, *_API_ERRORS)


@dataclass(frozen=True)
class RazorpayConfig:
    key_id: str
    key_secret: str
    webhook_secret: str
    api_base: str | None = None
    callback_url: str = "http://127.0.0.1:8000/"


def _notes(entity: Mapping[str, Any] | None) -> dict[str, Any]:
    notes = (entity or {}).get("notes")
    return notes if isinstance(notes, dict) else {}  # Razorpay sends [] for no notes


class RazorpayProvider:
    name = "razorpay"
    currencies = frozenset({"inr"})

    def __init__(self, config: RazorpayConfig) -> None:
        self.config = config
        options = {"base_url": config.api_base} if config.api_base else {}
        self.client = razorpay.Client(auth=(config.key_id, config.key_secret), **options)

    def create_checkout(
        self, *, quote_id: str, amount: int, currency: str, description: str, expires_at: int
    ) -> Checkout:
        try:
            link = self.client.payment_link.create(
                {
                    "amount": amount,
                    "currency": currency.upper(),
                    "accept_partial": False,
                    "reference_id": quote_id,
                    "description": description[:2048],
                    "expire_by": expires_at,
                    "notes": {"quote_id": quote_id},
                    "callback_url": self.config.callback_url,
                    "callback_method": "get",
                }
            )
        except _NETWORK_ERRORS as exc:
            raise ProviderUnavailable(
                f"Razorpay did not create the payment link: {type(exc).__name__}"
            ) from None
        # The order Razorpay binds the payment to is named by its events; until then the link stands in.
        return Checkout(payment=str(link["id"]), page=str(link["id"]), url=str(link["short_url"]))

    def expire_checkout(self, page: str) -> None:
        try:
            link = self.client.payment_link.fetch(page)
            if link.get("status") in ("created", "partially_paid"):
                self.client.payment_link.cancel(page)
        except _NETWORK_ERRORS as exc:
            raise ProviderUnavailable(f"Razorpay did not cancel {page}: {type(exc).__name__}") from None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        signature = headers.get("x-razorpay-signature")
        event_id = headers.get("x-razorpay-event-id")
        if not signature:
            raise BadSignature("the X-Razorpay-Signature header is missing")
        try:
            text = body.decode("utf-8")
            self.client.utility.verify_webhook_signature(text, signature, self.config.webhook_secret)
        except (UnicodeDecodeError, razorpay.errors.SignatureVerificationError):
            raise BadSignature("X-Razorpay-Signature does not match the body") from None
        if not event_id:
            raise BadSignature(
                "the X-Razorpay-Event-Id header is missing: the delivery cannot be recorded once"
            )
        event: dict[str, Any] = json.loads(text)  # verified above: the body is Razorpay's
        kind, eid = str(event.get("event")), event_id
        payload = event.get("payload") or {}
        payment = (payload.get("payment") or {}).get("entity") or {}
        order = (payload.get("order") or {}).get("entity") or {}
        order_id = payment.get("order_id") or order.get("id")
        if kind in ("payment.captured", "order.paid"):
            quote = _notes(payment).get("quote_id") or _notes(order).get("quote_id") or order.get("receipt")
            return ProviderEvent(
                id=eid,
                type=kind,
                action="fund",
                payment=order_id,
                quote_id=str(quote) if quote else None,
                charge=payment.get("id"),
                amount=payment.get("amount"),
                currency=str(payment["currency"]).lower() if payment.get("currency") else None,
            )
        if kind == "payment.failed":
            return ProviderEvent(
                id=eid, type=kind, action="failed", payment=order_id, quote_id=_notes(payment).get("quote_id")
            )
        if kind in ("refund.processed", "refund.failed"):
            refund = (payload.get("refund") or {}).get("entity") or {}
            return ProviderEvent(
                id=eid,
                type=kind,
                action="refunded" if kind == "refund.processed" else "refund_failed",
                payment=order_id,
                charge=refund.get("payment_id") or payment.get("id"),
                amount=refund.get("amount"),
                refund=refund.get("id"),
                refund_key=_notes(refund).get("skillchain_key"),
            )
        dispute = (payload.get("dispute") or {}).get("entity") or {}
        actions = {
            "payment.dispute.created": "dispute",
            "payment.dispute.lost": "dispute_lost",
            "payment.dispute.won": "dispute_won",
        }
        if kind in actions:
            return ProviderEvent(
                id=eid,
                type=kind,
                action=actions[kind],  # type: ignore[arg-type]
                payment=order_id,
                charge=dispute.get("payment_id") or payment.get("id"),
                amount=dispute.get("amount"),
            )
        return ProviderEvent(id=eid, type=kind, action="ignored")

    def quote_of_payment(self, payment: str) -> str | None:
        """The quote an order was paid for, asked of the Orders API (its notes, or its receipt)."""
        order_id = payment
        try:
            order = self.client.order.fetch(order_id)
        except _NETWORK_ERRORS as exc:
            raise ProviderUnavailable(
                f"Razorpay could not be asked about {order_id}: {type(exc).__name__}"
            ) from None
        quote = _notes(order).get("quote_id") or order.get("receipt")
        return str(quote) if quote else None

    def payment_of_charge(self, charge: str, candidates: list[str]) -> str | None:
        try:
            payment = self.client.payment.fetch(charge)
        except _NETWORK_ERRORS as exc:
            raise ProviderUnavailable(
                f"Razorpay could not be asked about {charge}: {type(exc).__name__}"
            ) from None
        order = payment.get("order_id")
        return str(order) if order and order in candidates else None

    def refund(self, *, payment: str, charge: str | None, amount: int, key: str) -> str:
        """Refunds `charge` (the pay_ id); a refund carrying the same key note is returned instead of
        a second one (Razorpay takes no idempotency key: the note is ours)."""
        if not charge:
            raise ProviderUnavailable(f"no Razorpay payment recorded for {payment}: nothing to refund")
        tag = refund_tag(key)  # a receipt is at most 40 characters
        try:
            for existing in self.client.payment.fetch_multiple_refund(charge, {"count": 100}).get(
                "items", []
            ):
                if _notes(existing).get("skillchain_key") == tag:
                    return str(existing["id"])
            made = self.client.payment.refund(
                charge, {"amount": amount, "receipt": tag, "notes": {"skillchain_key": tag}}
            )
        except _NETWORK_ERRORS as exc:
            raise ProviderUnavailable(f"Razorpay did not refund {charge}: {type(exc).__name__}") from None
        return str(made["id"])

    def paid_payments(self) -> Iterator[tuple[str, str | None, str | None]]:
        """Paid orders (Razorpay lists 100 at a time, newest first; older ones are past any hold)."""
        try:
            orders = self.client.order.all({"count": 100})
        except _NETWORK_ERRORS as exc:
            raise ProviderUnavailable(f"Razorpay could not list the orders: {type(exc).__name__}") from None
        for order in orders.get("items", []):
            if order.get("status") == "paid":
                quote = _notes(order).get("quote_id") or order.get("receipt")
                yield str(order["id"]), str(quote) if quote else None, None
