"""What the payments service asks of a card provider, and what a provider's webhook means to it.

A provider creates a hosted payment page for a quote, verifies and reads its webhooks into
ProviderEvents, refunds (keyed, so a retry never refunds twice) and lists paid payments for
reconciliation. `payment` is the provider's key for one payment of one quote (a Stripe Checkout
Session, a Razorpay order): jobs are keyed on it and the escrow's externalRef is its keccak256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

Action = Literal[
    "fund",  # paid: fund the engagement once per payment
    "awaiting",  # completed, money not yet in (an asynchronous method)
    "failed",  # the payment failed: nothing is funded
    "refunded",  # the provider refunded (by us or from its dashboard): recorded
    "refund_failed",  # a refund of ours did not reach the card: recorded, an operator alerted
    "dispute",  # a chargeback was opened: dispute on-chain once (or withdraw a request)
    "dispute_lost",
    "dispute_won",
    "ignored",
]


class PaymentsError(Exception):
    """Root of payment errors."""


class NotConfigured(PaymentsError):
    """The provider's keys (or the relayer key) are not configured."""


class ProviderUnavailable(PaymentsError):
    """The provider could not be reached (or refused the request); nothing was recorded."""


class BadSignature(PaymentsError):
    """A webhook's signature does not verify (wrong secret, a changed byte, missing, too old)."""


@dataclass(frozen=True)
class Checkout:
    payment: str  # what the provider's events name this payment by (jobs key on it)
    page: str  # the hosted page's own id (Stripe: the session; Razorpay: the payment link)
    url: str


@dataclass(frozen=True)
class ProviderEvent:
    id: str  # the provider's event id: recorded once
    type: str  # the provider's event name, for the log
    action: Action
    payment: str | None = None
    quote_id: str | None = None
    charge: str | None = None  # the provider's id of the money movement (payment intent, pay_...)
    amount: int | None = None  # minor units (cents, paise)
    currency: str | None = None  # ISO 4217, lower case
    refund: str | None = None  # for `refunded`: the provider's refund id
    refund_key: str | None = None  # for `refunded`: the tag our own refunds carry (refund_tag)
    refunded_total: int | None = None  # for `refunded`: all refunded of the payment so far (Stripe)


class PaymentProvider(Protocol):
    name: str
    currencies: frozenset[str]  # ISO 4217, lower case

    def create_checkout(
        self, *, quote_id: str, amount: int, currency: str, description: str, expires_at: int
    ) -> Checkout:
        """A hosted page for `amount` minor units; raises ProviderUnavailable."""
        ...

    def expire_checkout(self, page: str) -> None:
        """Close an unpaid hosted page (its hold lapsed): nobody can pay it any more. Raises
        ProviderUnavailable."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify the raw body's signature and read it; raises BadSignature."""
        ...

    def quote_of_payment(self, payment: str) -> str | None:
        """The quote a payment (named by an event that did not carry it) was made for, asked of the
        provider; None when it knows none. Raises ProviderUnavailable."""
        ...

    def payment_of_charge(self, charge: str, candidates: list[str]) -> str | None:
        """Which of `candidates` (funded payments whose charge was not recorded) a charge belongs to,
        asked of the provider (raises ProviderUnavailable)."""
        ...

    def refund(self, *, payment: str, charge: str | None, amount: int, key: str) -> str:
        """Refund `amount` minor units of the payment, once per `key` (a retry returns the first
        refund); the provider's refund id. Raises ProviderUnavailable."""
        ...

    def paid_payments(self) -> Iterator[tuple[str, str | None, str | None]]:
        """(payment, quote id, charge) of every paid payment the provider knows, for reconciliation."""
        ...


def refund_tag(key: str) -> str:
    """The tag a refund for reason `key` carries at the provider (40 characters: Razorpay's limit)."""
    return hashlib.sha256(key.encode()).hexdigest()[:40]
