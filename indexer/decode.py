"""Event decoding generated from the contracts' ABIs (adding an event needs no hand-written decoder).

The hot path is a function generated per event from its ABI (``EventSpec.decode_hex``): it slices the
RPC's hex strings word by word straight into Python values (``int(word, 16)``, cached checksummed
addresses, ``"0x" + word``) without converting the log to bytes first, and falls back to eth-abi only
for types it does not slice itself (strings, bytes, tuples). No pydantic model or web3.py call per
event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import msgspec
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

Value = Any
WordDecoder = Callable[[bytes], Value]


class DecodedEvent(NamedTuple):
    """One decoded log (a NamedTuple: cheap to build, and to pickle across to the indexer's process)."""

    chain_id: int
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    address: str
    contract: str
    name: str
    args: dict[str, Any]


RAW_EVENT_COLUMNS = (
    "chain_id",
    "block_hash",
    "log_index",
    "block_number",
    "tx_hash",
    "address",
    "event",
    "args",
)


def raw_event_rows(events: list[DecodedEvent]) -> list[tuple[Any, ...]]:
    """Rows of the raw event table (db.chain.chain_events, RAW_EVENT_COLUMNS order); args as JSON
    with exact integers of any size."""
    encode = msgspec.json.encode
    return [
        (
            e.chain_id,
            e.block_hash,
            e.log_index,
            e.block_number,
            e.tx_hash,
            e.address,
            e.name,
            encode(e.args).decode(),
        )
        for e in events
    ]


@lru_cache(maxsize=65536)
def checksum(raw20: bytes) -> str:
    return str(to_checksum_address(raw20))


@lru_cache(maxsize=65536)
def checksum_hex(hex40: str) -> str:
    """EIP-55 form of 40 lowercase hex digits (cached: a chain has far fewer accounts than events)."""
    return str(to_checksum_address("0x" + hex40))


def _signed(value: int) -> int:
    return value - (1 << 256) if value >> 255 else value


def _address(word: bytes) -> str:
    return checksum(bytes(word[12:32]))


def _uint(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _int(word: bytes) -> int:
    return int.from_bytes(word, "big", signed=True)


def _bool(word: bytes) -> bool:
    return word[31] != 0


def _bytes32(word: bytes) -> str:
    return "0x" + bytes(word).hex()


def _fixed_bytes(size: int) -> WordDecoder:
    return lambda word: "0x" + bytes(word[:size]).hex()


def word_decoder(abi_type: str) -> WordDecoder | None:
    """A decoder for a type that fits one word, or None if it needs eth-abi."""
    if "[" in abi_type or "(" in abi_type:
        return None
    if abi_type == "address":
        return _address
    if abi_type.startswith("uint"):
        return _uint
    if abi_type.startswith("int"):
        return _int
    if abi_type == "bool":
        return _bool
    if abi_type == "bytes32":
        return _bytes32
    if abi_type.startswith("bytes") and abi_type[5:].isdigit():
        return _fixed_bytes(int(abi_type[5:]))
    return None


def canonical_type(item: dict[str, Any]) -> str:
    t = str(item["type"])
    if t.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in item["components"])
        return f"({inner}){t[5:]}"
    return t


@dataclass(frozen=True)
class EventSpec:
    contract: str
    name: str
    topic0: bytes
    indexed: tuple[tuple[str, str, WordDecoder | None], ...]
    data: tuple[tuple[str, str, WordDecoder | None], ...]
    all_static: bool
    decode_hex: Callable[[list[str], str], dict[str, Value]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decode_hex", _generate_hex_decoder(self))

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Value]:
        args: dict[str, Value] = {}
        for (name, _abi_type, dec), topic in zip(self.indexed, topics[1:], strict=False):
            # Indexed dynamic values are only their hash: keep it as bytes32.
            args[name] = dec(topic) if dec is not None else _bytes32(topic)
        if not self.data:
            return args
        if self.all_static:
            for i, (name, _t, dec) in enumerate(self.data):
                args[name] = dec(data[32 * i : 32 * i + 32])  # type: ignore[misc]
            return args
        for i, (name, abi_type, dec) in enumerate(self.data):
            if dec is not None:
                args[name] = dec(data[32 * i : 32 * i + 32])
            elif abi_type.endswith("[]") and word_decoder(abi_type[:-2]) is not None:
                inner = word_decoder(abi_type[:-2])
                offset = _uint(data[32 * i : 32 * i + 32])
                length = _uint(data[offset : offset + 32])
                start = offset + 32
                args[name] = [inner(data[start + 32 * k : start + 32 * k + 32]) for k in range(length)]  # type: ignore[misc]
            else:
                from eth_abi.abi import decode as abi_decode  # rare (strings, tuples): imported when needed

                types = [t for _n, t, _d in self.data]
                decoded = abi_decode(types, data)
                args[name] = _jsonable(decoded[i])
        return args


def _jsonable(value: Value) -> Value:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def event_specs(abis: dict[str, list[dict[str, Any]]]) -> dict[bytes, EventSpec]:
    """topic0 -> decoder, for every event of every named ABI (the first definition wins on clashes)."""
    specs: dict[bytes, EventSpec] = {}
    for contract, abi in abis.items():
        for item in abi:
            if item.get("type") != "event" or item.get("anonymous"):
                continue
            signature = f"{item['name']}({','.join(canonical_type(i) for i in item['inputs'])})"
            topic0 = bytes(keccak(signature.encode()))
            if topic0 in specs:
                continue
            indexed = tuple(
                (i["name"], canonical_type(i), word_decoder(canonical_type(i)))
                for i in item["inputs"]
                if i["indexed"]
            )
            data = tuple(
                (i["name"], canonical_type(i), word_decoder(canonical_type(i)))
                for i in item["inputs"]
                if not i["indexed"]
            )
            specs[topic0] = EventSpec(
                contract=contract,
                name=item["name"],
                topic0=topic0,
                indexed=indexed,
                data=data,
                all_static=all(d is not None for _n, _t, d in data),
            )
    return specs


# ---------------------------------------------------------------- generated hex decoders


def _word_expr(abi_type: str, word: str) -> str | None:
    """Python source decoding one ABI word, given the source of its 64 hex digits."""
    if "[" in abi_type or "(" in abi_type:
        return None
    if abi_type == "address":
        return f"_addr({word}[24:64])"
    if abi_type.startswith("uint"):
        return f"int({word}, 16)"
    if abi_type.startswith("int"):
        return f"_signed(int({word}, 16))"
    if abi_type == "bool":
        return f"(int({word}, 16) != 0)"
    if abi_type == "bytes32":
        return f'"0x" + {word}'
    if abi_type.startswith("bytes") and abi_type[5:].isdigit():
        return f'"0x" + {word}[:{2 * int(abi_type[5:])}]'
    return None


def _generate_hex_decoder(spec: EventSpec) -> Callable[[list[str], str], dict[str, Value]]:
    """Compile `decode_hex(topics, data)` for one event: hex strings in, the same values as `decode`."""
    items: list[str] = []
    for k, (name, abi_type, _dec) in enumerate(spec.indexed, start=1):
        expr = _word_expr(abi_type, f"topics[{k}][2:66].lower()")
        items.append(f"{name!r}: {expr if expr is not None else f'topics[{k}].lower()'}")
    needs_fallback = False
    for i, (name, abi_type, _dec) in enumerate(spec.data):
        word = f"d[{64 * i}:{64 * i + 64}]"
        expr = _word_expr(abi_type, word)
        if expr is None and abi_type.endswith("[]"):
            inner = _word_expr(abi_type[:-2], "w")
            if inner is not None:
                expr = f"_array(d, {64 * i}, lambda w: {inner})"
        if expr is None:
            needs_fallback = True
            break
        items.append(f"{name!r}: {expr}")
    namespace: dict[str, Any] = {
        "_addr": checksum_hex,
        "_signed": _signed,
        "_array": _hex_array,
        "_spec": spec,
    }
    if needs_fallback:
        source = (
            "def decode_hex(topics, data):\n"
            "    return _spec.decode([bytes.fromhex(t[2:]) for t in topics], bytes.fromhex(data[2:]))\n"
        )
    else:
        body = ", ".join(items)
        source = f"def decode_hex(topics, data):\n    d = data[2:].lower()\n    return {{{body}}}\n"
    exec(compile(source, f"<decoder {spec.contract}.{spec.name}>", "exec"), namespace)  # noqa: S102 - our own ABI
    decoder: Callable[[list[str], str], dict[str, Value]] = namespace["decode_hex"]
    return decoder


def _hex_array(d: str, head: int, element: Callable[[str], Value]) -> list[Value]:
    """A dynamic array of one-word elements: its offset word at `head` (hex digits into `d`)."""
    start = int(d[head : head + 64], 16) * 2
    length = int(d[start : start + 64], 16)
    first = start + 64
    return [element(d[first + 64 * k : first + 64 * k + 64]) for k in range(length)]
