"""The EIP-712 typed data of a SkillCredential issuance voucher (what an issuer signs off-chain and
anyone redeems on-chain). Must match the contract's VOUCHER_TYPEHASH and domain."""

from __future__ import annotations

from typing import Any

VOUCHER_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Voucher": [
        {"name": "issuer", "type": "address"},
        {"name": "recipient", "type": "address"},
        {"name": "skillId", "type": "bytes32"},
        {"name": "metadataDigest", "type": "bytes32"},
        {"name": "expiresAt", "type": "uint64"},
        {"name": "engagementId", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "validUntil", "type": "uint64"},
    ],
}


def voucher_typed_data(chain_id: int, credential_address: str, message: dict[str, Any]) -> dict[str, Any]:
    """Full EIP-712 message (eth_signTypedData_v4 shape) for `message` on one deployment."""
    return {
        "types": VOUCHER_TYPES,
        "primaryType": "Voucher",
        "domain": {
            "name": "SkillCredential",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": credential_address,
        },
        "message": message,
    }
