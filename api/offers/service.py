"""Offers without HTTP: building the signable offer, checking its signature, and the funding call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

from api.auth.siwe import recover_address
from api.offers.schemas import OfferFields
from chain.offers import OFFER_TYPES, Offer, offer_typed_data

ETH = "0x" + "0" * 40


class OfferInvalid(ValueError):
    """Raised when an offer's fields cannot be what the contract accepts (the message says why)."""


_ADDRESSES = frozenset({"provider", "client", "token", "arbiter"})


def to_offer(fields: OfferFields) -> Offer:
    """The contract-shaped offer (Python ints, bytes) from its decimal-string form."""

    def value(name: str, v: Any) -> Any:
        if name in _ADDRESSES:
            return v
        if name == "termsDigest":
            return bytes.fromhex(v[2:])
        return [int(x) for x in v] if isinstance(v, list) else int(v)

    return Offer(**{name: value(name, v) for name, v in fields.model_dump().items()})


def to_fields(offer: Offer) -> OfferFields:
    """The decimal-string form (safe in JavaScript) of a contract-shaped offer."""

    def value(name: str, v: Any) -> Any:
        if name in _ADDRESSES:
            return v
        if isinstance(v, bytes):
            return "0x" + v.hex()
        return [str(x) for x in v] if isinstance(v, list) else str(v)

    return OfferFields(**{name: value(name, v) for name, v in offer.message().items()})


def check_shape(offer: Offer) -> None:
    """The contract's bounds, in words, before anyone signs or pays."""
    widths = {
        "sessionLength": 32,
        "grace": 32,
        "minNotice": 32,
        "horizon": 32,
        "reviewWindow": 32,
        "uses": 32,
    }
    for name, bits in widths.items():
        if getattr(offer, name) >= 2**bits:
            raise OfferInvalid(f"{name} must be below 2^{bits}")
    if offer.validUntil >= 2**64 or any(d >= 2**32 for d in offer.dueDates):
        raise OfferInvalid("dates must be unix seconds before 2106")
    if any(a == 0 or a >= 2**96 for a in offer.amounts):
        raise OfferInvalid("amounts must be between 1 and 2^96 - 1 base units")
    if offer.nonce >= 2**256:
        raise OfferInvalid("the nonce must fit in 256 bits")
    if offer.uses == 0:
        raise OfferInvalid("an offer needs at least one use")
    if offer.sessionLength:
        if len(offer.amounts) != 1 or offer.dueDates:
            raise OfferInvalid("a session offer has one amount and no due dates")
    elif len(offer.dueDates) != len(offer.amounts):
        raise OfferInvalid("a custom offer has one due date per amount")


def typed_data_json(chain_id: int, escrow: str, offer: Offer) -> dict[str, object]:
    """eth_signTypedData_v4 payload with every integer as a decimal string (safe in JavaScript)."""
    message = to_fields(offer).model_dump()
    return offer_typed_data(chain_id, escrow, message)


def offer_digest(chain_id: int, escrow: str, offer: Offer) -> bytes:
    signable = encode_typed_data(full_message=offer_typed_data(chain_id, escrow, offer.message()))
    return bytes(keccak(b"\x19\x01" + signable.header + signable.body))


def signed_by_provider_key(chain_id: int, escrow: str, offer: Offer, signature: bytes) -> bool:
    """Whether an EOA provider's key made `signature` (contract wallets are checked on-chain)."""
    if len(signature) != 65:
        return False
    try:
        return recover_address(offer_digest(chain_id, escrow, offer), signature) == offer.provider
    except ValueError:
        return False


def signed_by_provider(
    chain_id: int,
    escrow: str,
    offer: Offer,
    signature: bytes,
    eip1271: Callable[[int, str, bytes, bytes], bool],
) -> bool:
    """Whether the provider signed `offer`: its EOA key, else its contract wallet (EIP-1271, on-chain)."""
    return signed_by_provider_key(chain_id, escrow, offer, signature) or eip1271(
        chain_id, offer.provider, offer_digest(chain_id, escrow, offer), signature
    )


def fund_args(
    offer: Offer, signature: bytes, starts_at: int, booking_ref: str, deadline: int
) -> list[object]:
    """Arguments of createEngagementWithOffer, in order."""
    return [offer.as_tuple(), signature, starts_at, booking_ref, deadline]


__all__ = [
    "OFFER_TYPES",
    "OfferInvalid",
    "check_shape",
    "fund_args",
    "to_fields",
    "to_offer",
    "typed_data_json",
]
