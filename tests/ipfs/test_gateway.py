"""The trustless gateway: file, raw block and CAR responses, headers, 400/404, and no corrupted bytes."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ipfs.car import read_car
from ipfs.cid import CHUNK_SIZE, canonical, parse_cid
from ipfs.gateway import gateway_router
from ipfs.store import EmbeddedStore


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path)


@pytest.fixture
def client(store: EmbeddedStore) -> TestClient:
    app = FastAPI()
    app.include_router(gateway_router(store))
    return TestClient(app)


def test_file_response_with_immutable_caching(store: EmbeddedStore, client: TestClient) -> None:
    cid = store.add_bytes(b'{"name": "cert"}').cid
    response = client.get(f"/ipfs/{cid}")
    assert response.status_code == 200 and response.content == b'{"name": "cert"}'
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["etag"] == f'"{cid}"'
    assert "immutable" in response.headers["cache-control"]


def test_large_file_streams_whole(store: EmbeddedStore, client: TestClient) -> None:
    data = random.Random(3).randbytes(3 * CHUNK_SIZE + 1)
    cid = store.add_bytes(data, cid_version=0).cid
    assert client.get(f"/ipfs/{cid}").content == data


@pytest.mark.parametrize("how", ["query", "accept"])
def test_raw_block(store: EmbeddedStore, client: TestClient, how: str) -> None:
    cid = store.add_bytes(b"raw block", cid_version=1).cid
    if how == "query":
        response = client.get(f"/ipfs/{cid}?format=raw")
    else:
        response = client.get(f"/ipfs/{cid}", headers={"Accept": "application/vnd.ipld.raw"})
    assert response.status_code == 200 and response.content == b"raw block"
    assert response.headers["content-type"] == "application/vnd.ipld.raw"
    assert response.headers["etag"] == f'"{cid}.raw"'


@pytest.mark.parametrize("how", ["query", "accept"])
def test_car_response_is_a_verifiable_archive(store: EmbeddedStore, client: TestClient, how: str) -> None:
    data = random.Random(4).randbytes(2 * CHUNK_SIZE + 9)
    cid = store.add_bytes(data, cid_version=1).cid
    if how == "query":
        response = client.get(f"/ipfs/{cid}?format=car")
    else:
        response = client.get(f"/ipfs/{cid}", headers={"Accept": "application/vnd.ipld.car"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.ipld.car")
    assert response.headers["etag"] == f'"{cid}.car"'
    roots, blocks = read_car(io.BytesIO(response.content))
    assert [canonical(r) for r in roots] == [cid] and len(list(blocks)) == 4


def test_unknown_cid_is_404_and_malformed_is_400(client: TestClient) -> None:
    assert client.get("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku").status_code == 404
    assert client.get("/ipfs/not-a-cid").status_code == 400
    assert (
        client.get("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku?format=zip").status_code
        == 422
    )


def test_corrupted_block_is_never_served(store: EmbeddedStore, client: TestClient) -> None:
    data = random.Random(5).randbytes(CHUNK_SIZE + 100)
    cid = store.add_bytes(data, cid_version=1).cid
    second = next(p for p in store.iter_blocks() if p.stat().st_size == 100)
    second.write_bytes(b"X" * 100)
    for query in ("", "?format=car"):
        response = client.get(f"/ipfs/{cid}{query}")
        assert response.status_code == 502
        assert second.name in response.json()["detail"]
        assert data[:100] not in response.content
    bad_leaf = parse_cid(second.name)
    assert client.get(f"/ipfs/{bad_leaf}?format=raw").status_code == 502
