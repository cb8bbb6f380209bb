"""JSON-RPC for the indexer: typed, fast JSON (msgspec), retries with backoff, and the providers'
"range too large" answers recognised so the caller can split the range."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import httpx
import msgspec

from indexer.errors import FatalRpcError, RangeTooLarge, RetryableRpcError


class RpcLog(msgspec.Struct):
    address: str
    topics: list[str]
    data: str
    blockNumber: str
    blockHash: str
    transactionHash: str
    logIndex: str
    removed: bool = False


class RpcErrorBody(msgspec.Struct):
    code: int
    message: str


class LogsResponse(msgspec.Struct):
    result: list[RpcLog] | None = None
    error: RpcErrorBody | None = None


class BlockHeader(msgspec.Struct):
    number: str
    hash: str
    parentHash: str
    timestamp: str


class HeaderResponse(msgspec.Struct):
    result: BlockHeader | None = None
    error: RpcErrorBody | None = None


class AnyResponse(msgspec.Struct):
    result: Any = None
    error: RpcErrorBody | None = None


# What common providers say when a getLogs range is too big (Alchemy, Infura, QuickNode, Ankr,
# Chainstack, BlastAPI, geth/erigon/reth, anvil, our own stand-in).
_RANGE_PATTERNS = re.compile(
    r"more than \d+ results|too many (results|logs|blocks)|query timeout exceeded"
    r"|range (is )?too (large|wide|big)"
    r"|block range|exceed(s|ed)? (the )?max(imum)?|response size (exceeded|should not)|limit exceeded"
    r"|log response size|query returned more than|range too large|try with this block range",
    re.IGNORECASE,
)
_RANGE_CODES = {-32005, -32602}


def is_range_error(error: RpcErrorBody) -> bool:
    return bool(_RANGE_PATTERNS.search(error.message)) or (error.code == -32005)


class RpcClient:
    """Thread-safe JSON-RPC client."""

    def __init__(self, url: str, *, timeout: float = 20.0, attempts: int = 8, backoff: float = 0.1) -> None:
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.http = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=16))
        self._ids = itertools.count(1)
        self.retries = 0

    def close(self) -> None:
        self.http.close()

    def constructor_args(self) -> tuple[str, dict[str, Any]]:
        """(url, options) that build an equivalent client, e.g. in another process."""
        return self.url, {"timeout": self.timeout, "attempts": self.attempts, "backoff": self.backoff}

    def _post(self, method: str, params: list[Any]) -> bytes:
        body = msgspec.json.encode(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        )
        try:
            response = self.http.post(self.url, content=body, headers={"Content-Type": "application/json"})
        except httpx.TimeoutException as exc:
            raise RetryableRpcError(f"{method}: timeout ({exc})") from None
        except httpx.TransportError as exc:
            raise RetryableRpcError(f"{method}: {exc}") from None
        if response.status_code == 429:
            after = response.headers.get("Retry-After")
            raise RetryableRpcError(f"{method}: 429", float(after) if after and after.isdigit() else None)
        if response.status_code >= 500:
            raise RetryableRpcError(f"{method}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise FatalRpcError(f"{method}: HTTP {response.status_code}: {response.text[:200]}")
        return response.content

    def _with_retries(self, method: str, params: list[Any], decoder: msgspec.json.Decoder[Any]) -> Any:
        delay = self.backoff
        for attempt in range(self.attempts):
            try:
                raw = self._post(method, params)
                try:
                    decoded = decoder.decode(raw)
                except msgspec.DecodeError as exc:
                    raise RetryableRpcError(f"{method}: undecodable answer ({exc})") from None
                if decoded.error is not None:
                    if method == "eth_getLogs" and is_range_error(decoded.error):
                        raise RangeTooLarge(decoded.error.message)
                    if decoded.error.code in (-32000, -32603) and "timeout" in decoded.error.message.lower():
                        raise RetryableRpcError(f"{method}: {decoded.error.message}")
                    if decoded.error.code == 429 or "rate limit" in decoded.error.message.lower():
                        raise RetryableRpcError(f"{method}: {decoded.error.message}")
                    raise FatalRpcError(
                        f"{method} failed: {decoded.error.message} (code {decoded.error.code})"
                    )
                return decoded.result
            except RetryableRpcError as exc:
                self.retries += 1
                if attempt == self.attempts - 1:
                    raise FatalRpcError(
                        f"{method} kept failing after {self.attempts} attempts: {exc}"
                    ) from None
                time.sleep(exc.retry_after if exc.retry_after is not None else delay)
                delay = min(delay * 2, 5.0)
        raise FatalRpcError(f"{method}: no attempts")  # pragma: no cover

    _logs = msgspec.json.Decoder(LogsResponse)
    _header = msgspec.json.Decoder(HeaderResponse)
    _any = msgspec.json.Decoder(AnyResponse)

    def get_logs(self, *, addresses: list[str], from_block: int, to_block: int) -> list[RpcLog]:
        params = [{"address": addresses, "fromBlock": hex(from_block), "toBlock": hex(to_block)}]
        result = self._with_retries("eth_getLogs", params, self._logs)
        return result or []

    def get_logs_at(self, *, addresses: list[str], block_hash: str) -> list[RpcLog]:
        result = self._with_retries(
            "eth_getLogs", [{"address": addresses, "blockHash": block_hash}], self._logs
        )
        return result or []

    def header(self, number: int | str) -> BlockHeader:
        tag = hex(number) if isinstance(number, int) else number
        result = self._with_retries("eth_getBlockByNumber", [tag, False], self._header)
        if result is None:
            raise RetryableRpcError(f"block {number} not available yet")
        return result  # type: ignore[no-any-return]

    def block_number(self) -> int:
        return int(self._with_retries("eth_blockNumber", [], self._any), 16)

    def chain_id(self) -> int:
        return int(self._with_retries("eth_chainId", [], self._any), 16)
