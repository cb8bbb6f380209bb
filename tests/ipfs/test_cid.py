"""CIDs exactly as Kubo's `ipfs add` computes them, and the digest <-> CID mapping of metadata."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs.cid import CHUNK_SIZE, cid_to_digest, digest_to_cid, document_cid, document_digest
from ipfs.errors import DocumentTooLarge, InvalidCid
from ipfs.unixfs import add_bytes, add_stream
from tests.ipfs.oracle import oracle_cid

# Published by Kubo itself (`ipfs add`), independent of this code.
KNOWN = [
    (b"hello world\n", 0, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    (b"", 0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    (b"", 1, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    (b"hello world", 1, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
]


@pytest.mark.parametrize(("data", "version", "cid"), KNOWN)
def test_known_kubo_cids(data: bytes, version: int, cid: str) -> None:
    assert str(add_bytes(data, cid_version=version)) == cid


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


SIZES = {
    "exactly one chunk": CHUNK_SIZE,
    "one chunk plus one byte": CHUNK_SIZE + 1,
    "174 chunks (one full node)": 174 * CHUNK_SIZE,
    "more than 174 chunks (second tree level)": 175 * CHUNK_SIZE + 1,
}


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_cids_match_the_reference_importer(tmp_path: Path, size: int, version: int) -> None:
    data = random_bytes(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    with path.open("rb") as stream:
        ours, total = add_stream(stream, cid_version=version)
    assert total == size
    assert str(ours) == oracle_cid(path, version)


def test_single_chunk_v1_is_the_raw_block_whose_digest_the_contracts_store() -> None:
    data = random_bytes(CHUNK_SIZE)
    digest = hashlib.sha256(data).digest()
    assert str(add_bytes(data, cid_version=1)) == digest_to_cid(digest) == document_cid(data)
    assert cid_to_digest(digest_to_cid(digest)) == digest


def test_metadata_larger_than_one_block_is_refused() -> None:
    with pytest.raises(DocumentTooLarge) as info:
        document_digest(b"x" * (CHUNK_SIZE + 1))
    assert "262145 bytes" in str(info.value) and "262144" in str(info.value)


@pytest.mark.parametrize("text", ["", "hello", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5X", "bafy!"])
def test_malformed_cid_is_rejected(text: str) -> None:
    with pytest.raises(InvalidCid):
        cid_to_digest(text)


def test_dag_pb_cid_has_no_single_digest() -> None:
    with pytest.raises(InvalidCid, match="not a raw-codec CID"):
        cid_to_digest("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")


@settings(max_examples=12, deadline=None)
@given(chunks=st.integers(0, 3), delta=st.integers(-2, 2), version=st.sampled_from([0, 1]))
def test_sizes_around_chunk_boundaries_match_reference(
    tmp_path_factory: pytest.TempPathFactory, chunks: int, delta: int, version: int
) -> None:
    size = max(0, chunks * CHUNK_SIZE + delta)
    data = random_bytes(size, seed=size)
    path = tmp_path_factory.mktemp("b") / "f"
    path.write_bytes(data)
    assert str(add_bytes(data, cid_version=version)) == oracle_cid(path, version)
    assert add_stream(io.BytesIO(data), cid_version=version)[1] == size


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80) | st.from_regex(r"(Qm|b|z|f)[A-Za-z0-9]{0,70}", fullmatch=True))
def test_any_text_is_a_cid_or_an_invalid_cid_error(text: str) -> None:
    from ipfs.cid import parse_cid

    try:
        parse_cid(text)
    except InvalidCid:
        pass
