"""Offers without HTTP: building the signable offer, checking its signature, and the funding call."""

from __future__ import annotations

from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

from api.auth.siwe import recover_address
from api.offers.schemas import OfferFields
from chain.offers import OFFER_TYPES, Offer, offer_typed_data

ETH = "0x" + "0" * 40


class OfferInvalid(ValueError):
    """Raised when an offer's fields cannot be what the contract accepts (the message says why)."""


def to_offer(fields: OfferFields) -> Offer:
    """The contract-shaped offer (Python ints, bytes) from its decimal-string form."""
    return Offer(
        provider=fields.provider,
        client=fields.client,
        token=fields.token,
        amounts=[int(a) for a in fields.amounts],
        dueDates=[int(d) for d in fields.dueDates],
        sessionLength=int(fields.sessionLength),
        grace=int(fields.grace),
        minNotice=int(fields.minNotice),
        horizon=int(fields.horizon),
        reviewWindow=int(fields.reviewWindow),
        arbiter=fields.arbiter,
        termsDigest=bytes.fromhex(fields.termsDigest[2:]),
        nonce=int(fields.nonce),
        uses=int(fields.uses),
        validUntil=int(fields.validUntil),
    )


def to_fields(offer: Offer) -> OfferFields:
    return OfferFields(
        provider=offer.provider,
        client=offer.client,
        token=offer.token,
        amounts=[str(a) for a in offer.amounts],
        dueDates=[str(d) for d in offer.dueDates],
        sessionLength=str(offer.sessionLength),
        grace=str(offer.grace),
        minNotice=str(offer.minNotice),
        horizon=str(offer.horizon),
        reviewWindow=str(offer.reviewWindow),
        arbiter=offer.arbiter,
        termsDigest="0x" + offer.termsDigest.hex(),
        nonce=str(offer.nonce),
        uses=str(offer.uses),
        validUntil=str(offer.validUntil),
    )


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
