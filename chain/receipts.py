"""What the chain says about a transaction: unknown, pending, mined (success), or reverted — with the
revert reason decoded, found by replaying the call at the block before it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from web3 import HTTPProvider

from chain.errors import TxWouldRevert
from chain.simulate import decode_revert, revert_data


@dataclass(frozen=True)
class ChainTx:
    state: str  # unknown, pending, mined, reverted
    block_number: int | None = None
    to: str | None = None
    reason: TxWouldRevert | None = None


@lru_cache(maxsize=8)
def _provider(url: str, timeout: float) -> HTTPProvider:
    return HTTPProvider(url, request_kwargs={"timeout": timeout})


def lookup(rpc_url: str, tx_hash: str, *, contract_names: dict[str, str], timeout: float = 5.0) -> ChainTx:
    """The transaction's state; `contract_names` (lower-case address -> name) names the contract in
    a decoded revert. Raises OSError-like transport errors to the caller (answered 503)."""
    rpc = _provider(rpc_url, timeout)
    receipt = rpc.make_request("eth_getTransactionReceipt", [tx_hash]).get("result")
    if not receipt:
        tx = rpc.make_request("eth_getTransactionByHash", [tx_hash]).get("result")
        return ChainTx("pending" if tx else "unknown")
    block = int(receipt["blockNumber"], 16)
    to = receipt.get("to")
    if int(receipt["status"], 16) == 1:
        return ChainTx("mined", block, to)
    return ChainTx(
        "reverted", block, to, _reason(rpc, tx_hash, block, contract_names.get((to or "").lower(), ""))
    )


def _reason(rpc: Any, tx_hash: str, block: int, contract: str) -> TxWouldRevert:
    """Replay the call on the state it met (the end of the block before; close enough for a reason)."""
    tx = rpc.make_request("eth_getTransactionByHash", [tx_hash]).get("result") or {}
    call = {k: tx[k] for k in ("from", "to", "data", "value") if tx.get(k) is not None}
    if "input" in tx and "data" not in call:
        call["data"] = tx["input"]
    response = rpc.make_request("eth_call", [call, hex(max(block - 1, 0))])
    error = response.get("error")
    payload = revert_data(dict(error)) if isinstance(error, dict) else None
    if payload:
        return decode_revert(payload, contract or "the contract")
    return TxWouldRevert(
        contract or "the contract",
        "unknown",
        {},
        "the transaction reverted (out of gas, or a state that has passed)",
    )
