"""The EIP-712 typed data of a SkillEscrow offer: the terms a provider signs once so that a client (or
the card relayer) can fund them without a transaction from the provider. Must match the contract's
OFFER_TYPEHASH and domain ("SkillEscrow", version "2")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ZERO_ADDRESS = "0x" + "0" * 40

OFFER_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Offer": [
        {"name": "provider", "type": "address"},
        {"name": "client", "type": "address"},
        {"name": "token", "type": "address"},
        {"name": "amounts", "type": "uint256[]"},
        {"name": "dueDates", "type": "uint64[]"},
        {"name": "sessionLength", "type": "uint32"},
        {"name": "grace", "type": "uint32"},
        {"name": "minNotice", "type": "uint32"},
        {"name": "horizon", "type": "uint32"},
        {"name": "reviewWindow", "type": "uint32"},
        {"name": "arbiter", "type": "address"},
        {"name": "termsDigest", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "uses", "type": "uint32"},
        {"name": "validUntil", "type": "uint64"},
    ],
}

ESCROW_DOMAIN_NAME = "SkillEscrow"
ESCROW_DOMAIN_VERSION = "2"


@dataclass(frozen=True)
class Offer:
    """One offer, field for field as the contract's `Offer` struct (amounts in base units)."""

    provider: str
    token: str
    amounts: list[int]
    reviewWindow: int
    arbiter: str
    termsDigest: bytes
    nonce: int
    validUntil: int
    client: str = ZERO_ADDRESS
    dueDates: list[int] = field(default_factory=list)
    sessionLength: int = 0
    grace: int = 0
    minNotice: int = 0
    horizon: int = 0
    uses: int = 1

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (Python ints and bytes, as eth-account's encoder takes them)."""
        return asdict(self)

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in the struct's field order."""
        m = self.message()
        return tuple(m[f["name"]] for f in OFFER_TYPES["Offer"])


def offer_typed_data(chain_id: int, escrow_address: str, message: dict[str, Any]) -> dict[str, Any]:
    """Full EIP-712 message (eth_signTypedData_v4 shape) for `message` on one escrow deployment."""
    return {
        "types": OFFER_TYPES,
        "primaryType": "Offer",
        "domain": {
            "name": ESCROW_DOMAIN_NAME,
            "version": ESCROW_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": escrow_address,
        },
        "message": message,
    }
