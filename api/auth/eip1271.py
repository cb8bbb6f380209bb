"""EIP-1271 checks over JSON-RPC: `isValidSignature(hash, signature)` on the message's chain."""

from __future__ import annotations

import httpx
from eth_abi.abi import decode, encode

MAGIC = bytes.fromhex("1626ba7e")
SELECTOR = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes)


class RpcEip1271Checker:
    """Calls the wallet through the RPC configured for the message's chain; unknown chains fail closed."""

    def __init__(self, rpc_urls: dict[int, str], timeout: float = 5.0) -> None:
        self.rpc_urls = rpc_urls
        self.client = httpx.Client(timeout=timeout)

    def _rpc(self, url: str, method: str, params: list[object]) -> object:
        response = self.client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        payload = response.json()
        if "error" in payload:
            raise RuntimeError(str(payload["error"]))
        return payload["result"]

    def __call__(self, chain_id: int, address: str, message_hash: bytes, signature: bytes) -> bool:
        url = self.rpc_urls.get(chain_id)
        if url is None:
            return False
        try:
            if self._rpc(url, "eth_getCode", [address, "latest"]) in ("0x", "0x0", None):
                return False
            data = SELECTOR + encode(["bytes32", "bytes"], [message_hash, signature])
            result = self._rpc(url, "eth_call", [{"to": address, "data": "0x" + data.hex()}, "latest"])
        except (httpx.HTTPError, RuntimeError, ValueError):
            return False
        raw = bytes.fromhex(str(result).removeprefix("0x"))
        if len(raw) < 32:
            return False
        (value,) = decode(["bytes4"], raw[:32])
        return bool(value == MAGIC)
