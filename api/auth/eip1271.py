"""EIP-1271 checks over JSON-RPC: `isValidSignature(hash, signature)` on the message's chain."""

from __future__ import annotations

from functools import lru_cache

import requests
from eth_abi.abi import decode, encode
from web3 import Web3
from web3.exceptions import Web3Exception

MAGIC = bytes.fromhex("1626ba7e")
SELECTOR = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes)
ERC6492_SUFFIX = bytes.fromhex("6492" * 16)  # ends a counterfactual wallet's signature


@lru_cache(maxsize=16)
def _web3(url: str, timeout: float) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))


class RpcEip1271Checker:
    """Calls the wallet through the RPC configured for the message's chain (web3.py); unknown chains,
    accounts without code and unreachable nodes fail closed.

    With `counterfactual` (sign-in), an ERC-6492 signature of a wallet not deployed yet is accepted
    too: our ERC6492Validator's creation code runs in an `eth_call`, where the wallet's factory
    deploys it into throw-away state and its `isValidSignature` answers. Offers and vouchers are
    checked by the contracts, which know ECDSA and EIP-1271 only, so their checker leaves it off.
    """

    def __init__(
        self, rpc_urls: dict[int, str], timeout: float = 5.0, *, counterfactual: bool = False
    ) -> None:
        self.rpc_urls = rpc_urls
        self.timeout = timeout
        self.counterfactual = counterfactual

    def __call__(self, chain_id: int, address: str, message_hash: bytes, signature: bytes) -> bool:
        url = self.rpc_urls.get(chain_id)
        if url is None:
            return False
        w3 = _web3(url, self.timeout)
        if signature.endswith(ERC6492_SUFFIX):
            return self.counterfactual and _erc6492_valid(w3, address, message_hash, signature)
        try:
            wallet = Web3.to_checksum_address(address)
            if len(w3.eth.get_code(wallet)) == 0:
                return False
            data = SELECTOR + encode(["bytes32", "bytes"], [message_hash, signature])
            raw = bytes(w3.eth.call({"to": wallet, "data": data}, "latest"))
        except (Web3Exception, requests.RequestException, ValueError):
            return False  # a revert, a refusal or an unreachable node: not a valid signature
        if len(raw) < 32:
            return False
        (value,) = decode(["bytes4"], raw[:32])
        return bool(value == MAGIC)


def _erc6492_valid(w3: Web3, address: str, message_hash: bytes, signature: bytes) -> bool:
    from chain.artifacts import load_artifact
    from chain.errors import ArtifactsMissing

    try:
        init = bytes.fromhex(load_artifact("ERC6492Validator").bytecode.removeprefix("0x"))
        args = encode(
            ["address", "bytes32", "bytes"], [Web3.to_checksum_address(address), message_hash, signature]
        )
        raw = bytes(w3.eth.call({"data": "0x" + (init + args).hex()}, "latest"))  # type: ignore[typeddict-item]
    except (Web3Exception, requests.RequestException, ValueError, ArtifactsMissing):
        return False  # a revert (malformed wrapping, a failing factory) or an unreachable node
    return raw == b"\x01"
