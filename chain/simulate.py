"""Simulating a prepared transaction from its signer (eth_call at the latest block) and turning a
revert into the contract's custom error, decoded into a name, fields and the NatSpec words."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from eth_abi.abi import decode
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from chain.artifacts import CORE_CONTRACTS, error_notices, load_artifact
from chain.errors import TxWouldRevert

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def _type_of(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_type_of(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


@lru_cache(maxsize=1)
def error_table() -> dict[bytes, tuple[str, str, list[str], list[str], str]]:
    """selector -> (contract, name, field names, field types, notice) over the core contracts."""
    table: dict[bytes, tuple[str, str, list[str], list[str], str]] = {}
    for contract in CORE_CONTRACTS:
        notices = error_notices(contract)
        for item in load_artifact(contract).abi:
            if item.get("type") != "error":
                continue
            types = [_type_of(i) for i in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            selector = keccak(signature.encode())[:4]
            names = [i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"])]
            table.setdefault(selector, (contract, item["name"], names, types, notices.get(signature, "")))
    return table


def _plain(value: Any, abi_type: str) -> object:
    if abi_type == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def decode_revert(data: bytes, contract: str) -> TxWouldRevert:
    """The revert data of a call to `contract`, as an exception that says what went wrong."""
    selector, body = data[:4], data[4:]
    try:
        if selector == _ERROR_STRING:
            (reason,) = decode(["string"], body)
            return TxWouldRevert(contract, "Error", {"reason": reason}, str(reason))
        if selector == _PANIC:
            (code,) = decode(["uint256"], body)
            return TxWouldRevert(contract, "Panic", {"code": hex(code)}, "the contract hit an internal check")
    except Exception:  # noqa: BLE001 - malformed revert data (a token's, or a node's): still a refusal
        return TxWouldRevert(contract, "unknown", {"data": "0x" + data.hex()}, "the call reverted")
    known = error_table().get(selector)
    if known is None:
        return TxWouldRevert(contract, "unknown", {"data": "0x" + data.hex()}, "the call reverted")
    source, name, names, types, notice = known
    try:
        values = decode(types, body)
    except Exception:  # noqa: BLE001 - a malformed payload still names its error
        values = ()
    args = {n: _plain(v, t) for n, v, t in zip(names, values, types, strict=False)}
    return TxWouldRevert(source, name, args, notice)


def revert_data(error: dict[str, Any]) -> bytes | None:
    """The revert payload of a JSON-RPC error object (anvil and geth put it in `data`)."""
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None
