"""The embedded blockstore: round trips, CAR, pins and GC, and corruption never served."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs.cid import CHUNK_SIZE, parse_cid
from ipfs.errors import BlockCorrupted, BlockNotFound, InvalidCar
from ipfs.store import EmbeddedStore


def data_of(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("size", [0, 11, CHUNK_SIZE, 3 * CHUNK_SIZE + 5])
def test_add_then_get_round_trips(tmp_path: Path, size: int, version: int) -> None:
    store = EmbeddedStore(tmp_path)
    data = data_of(size)
    result = store.add_bytes(data, cid_version=version)
    assert result.size == size
    assert b"".join(store.cat(result.cid)) == data


@pytest.mark.parametrize("version", [0, 1])
def test_car_export_then_import_into_fresh_store(tmp_path: Path, version: int) -> None:
    data = data_of(2 * CHUNK_SIZE + 3)
    first = EmbeddedStore(tmp_path / "a")
    cid = first.add_bytes(data, cid_version=version).cid
    car = b"".join(first.export_car(cid))
    second = EmbeddedStore(tmp_path / "b")
    assert second.import_car(io.BytesIO(car)) == [cid]
    assert b"".join(second.cat(cid)) == data
    assert second.pins() == [cid]


def test_car_with_a_tampered_block_is_rejected(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "a")
    cid = store.add_bytes(b"some content worth keeping").cid
    car = bytearray(b"".join(store.export_car(cid)))
    car[-1] ^= 0x01
    with pytest.raises(InvalidCar, match="does not match its CID"):
        EmbeddedStore(tmp_path / "b").import_car(io.BytesIO(bytes(car)))


def test_flipped_byte_in_stored_block_raises_naming_the_cid(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    cid = store.add_bytes(data_of(CHUNK_SIZE + 10), cid_version=1).cid
    leaf = next(p for p in store.iter_blocks() if p.stat().st_size == CHUNK_SIZE)
    raw = bytearray(leaf.read_bytes())
    raw[100] ^= 0xFF
    leaf.write_bytes(bytes(raw))
    with pytest.raises(BlockCorrupted) as info:
        b"".join(store.cat(cid))
    assert info.value.cid == leaf.name  # the store names blocks by their CIDv1 base32


def test_unknown_cid_is_not_found(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    with pytest.raises(BlockNotFound):
        list(store.cat("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"))


def test_gc_removes_only_unpinned_blocks(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    kept = store.add_bytes(data_of(CHUNK_SIZE * 2 + 1), cid_version=1).cid
    dropped = store.add_bytes(b"temporary", cid_version=1, pin=False).cid
    unpinned = store.add_bytes(b"unpin me", cid_version=1).cid
    store.unpin(unpinned)
    assert store.gc() == 2
    assert b"".join(store.cat(kept)) == data_of(CHUNK_SIZE * 2 + 1)
    for gone in (dropped, unpinned):
        assert not store.has_block(parse_cid(gone))


@settings(max_examples=15, deadline=None)
@given(chunks=st.integers(0, 3), delta=st.integers(-3, 3), version=st.sampled_from([0, 1]))
def test_round_trip_property_around_boundaries(
    tmp_path_factory: pytest.TempPathFactory, chunks: int, delta: int, version: int
) -> None:
    size = max(0, chunks * CHUNK_SIZE + delta)
    store = EmbeddedStore(tmp_path_factory.mktemp("s"))
    data = data_of(size)
    cid = store.add(io.BytesIO(data), cid_version=version).cid
    assert b"".join(store.cat(cid)) == data
