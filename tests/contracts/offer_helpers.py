"""Signing SkillEscrow offers in tests, with the same typed data the API hands to wallets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from chain.offers import Offer, offer_typed_data
from tests.contracts.conftest import DAY, ETH, TERMS

CHAIN_ID = 31337


def sign_offer(key: str, escrow_address: str, offer: Offer, chain_id: int = CHAIN_ID) -> bytes:
    data = offer_typed_data(chain_id, escrow_address, offer.message())
    return bytes(Account.sign_message(encode_typed_data(full_message=data), key).signature)


def session_offer(provider: Any, arbiter: Any, now: int, **overrides: Any) -> Offer:
    """A standing one-hour session offer: 0.01 ETH, 1 h notice, 30-day horizon, 7-day grace, 10 uses."""
    offer = Offer(
        provider=provider.address,
        token=ETH,
        amounts=[10**16],
        reviewWindow=DAY,
        arbiter=arbiter.address,
        termsDigest=TERMS,
        nonce=1,
        validUntil=now + 60 * DAY,
        sessionLength=3600,
        grace=7 * DAY,
        minNotice=3600,
        horizon=30 * DAY,
        uses=10,
    )
    return replace(offer, **overrides)


def custom_offer(provider: Any, arbiter: Any, now: int, **overrides: Any) -> Offer:
    """A one-off custom offer of two milestones (1 and 2 ETH, due in 7 and 14 days)."""
    offer = Offer(
        provider=provider.address,
        token=ETH,
        amounts=[10**18, 2 * 10**18],
        dueDates=[now + 7 * DAY, now + 14 * DAY],
        reviewWindow=DAY,
        arbiter=arbiter.address,
        termsDigest=TERMS,
        nonce=1,
        validUntil=now + DAY,
        uses=1,
    )
    return replace(offer, **overrides)
