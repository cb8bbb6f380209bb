"""EIP-1271 checks over JSON-RPC: `isValidSignature(hash, signature)` on the message's chain."""

from __future__ import annotations

from functools import lru_cache

import requests
from eth_abi.abi import decode, encode
from web3 import Web3
from web3.exceptions import Web3Exception

MAGIC = bytes.fromhex("1626ba7e")
SELECTOR = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes)


@lru_cache(maxsize=16)
def _web3(url: str, timeout: float) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))


class RpcEip1271Checker:
    """Calls the wallet through the RPC configured for the message's chain (web3.py); unknown chains,
    accounts without code and unreachable nodes fail closed."""

    def __init__(self, rpc_urls: dict[int, str], timeout: float = 5.0) -> None:
        self.rpc_urls = rpc_urls
        self.timeout = timeout

    def __call__(self, chain_id: int, address: str, message_hash: bytes, signature: bytes) -> bool:
        url = self.rpc_urls.get(chain_id)
        if url is None:
            return False
        w3 = _web3(url, self.timeout)
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
