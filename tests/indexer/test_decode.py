"""The generated hex decoders agree with eth-abi on every event of the three contracts."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import to_checksum_address

from chain.artifacts import CORE_CONTRACTS, load_artifact
from indexer.decode import EventSpec, canonical_type, event_specs


def _value(abi_type: str, rng: random.Random) -> Any:
    if abi_type.endswith("[]"):
        return [_value(abi_type[:-2], rng) for _ in range(rng.randint(0, 4))]
    if abi_type == "address":
        return to_checksum_address(rng.randbytes(20))
    if abi_type == "bool":
        return rng.random() < 0.5
    if abi_type.startswith("uint"):
        bits = int(abi_type[4:] or 256)
        return rng.choice([0, 1, 2**bits - 1, rng.getrandbits(bits)])
    if abi_type.startswith("int"):
        bits = int(abi_type[3:] or 256)
        return rng.choice([-(2 ** (bits - 1)), -1, 0, 2 ** (bits - 1) - 1, rng.getrandbits(bits - 1)])
    if abi_type.startswith("bytes") and abi_type[5:].isdigit():
        return rng.randbytes(int(abi_type[5:]))
    if abi_type == "string":
        return "".join(rng.choice("abcé✓ ") for _ in range(rng.randint(0, 40)))
    if abi_type == "bytes":
        return rng.randbytes(rng.randint(0, 70))
    raise NotImplementedError(abi_type)


def _expected(abi_type: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_expected(abi_type[:-2], v) for v in value]
    if isinstance(value, bytes):
        size = int(abi_type[5:]) if abi_type[5:].isdigit() else len(value)
        return "0x" + value[:size].hex()
    return value


def _all_specs() -> list[tuple[EventSpec, dict[str, Any]]]:
    out = []
    for name in CORE_CONTRACTS:
        abi = load_artifact(name).abi
        by_name = {item["name"]: item for item in abi if item.get("type") == "event"}
        for spec in event_specs({name: abi}).values():
            out.append((spec, by_name[spec.name]))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_hex_decoder_matches_eth_abi_for_every_event(seed: int) -> None:
    rng = random.Random(seed)
    specs = _all_specs()
    assert len(specs) >= 15
    for spec, item in specs:
        indexed = [i for i in item["inputs"] if i["indexed"]]
        plain = [i for i in item["inputs"] if not i["indexed"]]
        indexed_values = [_value(canonical_type(i), rng) for i in indexed]
        plain_values = [_value(canonical_type(i), rng) for i in plain]
        topics = ["0x" + spec.topic0.hex()] + [
            "0x" + encode([canonical_type(i)], [v]).hex()
            for i, v in zip(indexed, indexed_values, strict=True)
        ]
        data = "0x" + encode([canonical_type(i) for i in plain], plain_values).hex()
        expected = {
            i["name"]: _expected(canonical_type(i), v)
            for i, v in zip(indexed + plain, indexed_values + plain_values, strict=True)
        }
        assert spec.decode_hex(topics, data) == expected, spec.name
        as_bytes = spec.decode([bytes.fromhex(t[2:]) for t in topics], bytes.fromhex(data[2:]))
        assert as_bytes == expected, spec.name
        # Providers may send upper-case hex: the values are the same.
        assert (
            spec.decode_hex([t[:2] + t[2:].upper() for t in topics], data[:2] + data[2:].upper()) == expected
        )
