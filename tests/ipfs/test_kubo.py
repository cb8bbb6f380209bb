"""The Kubo backend (real client code) against a stand-in that speaks Kubo's RPC wire format."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipfs.backend import open_store
from ipfs.cid import CHUNK_SIZE
from ipfs.errors import KuboError
from ipfs.kubo import KuboStore
from ipfs.unixfs import add_bytes
from tests.ipfs.kubo_standin import running_standin


@pytest.fixture
def kubo(tmp_path: Path) -> Iterator[KuboStore]:
    with running_standin(tmp_path / "node") as url:
        yield KuboStore(url)


def test_it_is_a_stand_in_and_says_so(kubo: KuboStore) -> None:
    assert "standin" in kubo.version()
    response = kubo.client.post(f"{kubo.api_url}/api/v0/version")
    assert "not a Kubo node" in response.headers["X-Stand-In"]


@pytest.mark.parametrize("version", [0, 1])
def test_add_gives_the_same_cid_as_the_embedded_computation(kubo: KuboStore, version: int) -> None:
    data = random.Random(1).randbytes(CHUNK_SIZE * 2 + 17)
    result = kubo.add(io.BytesIO(data), cid_version=version)
    assert result.cid == str(add_bytes(data, cid_version=version))
    assert b"".join(kubo.cat(result.cid)) == data


def test_pin_and_unpin(kubo: KuboStore) -> None:
    cid = kubo.add_bytes(b"pin me", pin=False).cid
    kubo.pin(cid)
    kubo.unpin(cid)
    with pytest.raises(KuboError, match="not pinned"):
        kubo.unpin(cid)


def test_errors_carry_kubos_message(kubo: KuboStore) -> None:
    with pytest.raises(KuboError, match="not found"):
        b"".join(kubo.cat("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"))


def test_unreachable_node_is_a_clear_error() -> None:
    store = KuboStore("http://127.0.0.1:9", timeout=2)
    with pytest.raises(KuboError, match="Kubo RPC version failed"):
        store.version()


def test_backend_selection(tmp_path: Path) -> None:
    assert isinstance(open_store(data_dir=tmp_path, kubo_api="http://127.0.0.1:5001"), KuboStore)
    assert not isinstance(open_store(data_dir=tmp_path), KuboStore)
