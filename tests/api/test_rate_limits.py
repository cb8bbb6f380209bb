"""Rate limits: keyed on the direct peer unless it is a trusted proxy, and shared by every replica
through Redis (127.0.0.1:6379)."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import make_settings
from tests.api.siwe_helpers import make_message
from tests.net import serving

REDIS = "redis://127.0.0.1:6379/13"


def _attempt(client: httpx.Client | TestClient, **headers: str) -> int:
    nonce = client.get("/auth/nonce").json()["nonce"]
    message, signature = make_message(nonce)
    return client.post(
        "/auth/verify", json={"message": message, "signature": signature}, headers=headers
    ).status_code


def test_x_forwarded_for_from_an_untrusted_peer_changes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'r.db'}", auth_rate_limit=3)
    with serving(create_app(settings)) as url, httpx.Client(base_url=url) as client:
        codes = [_attempt(client, **{"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(4)]
    assert codes == [200, 200, 200, 429]  # four "different" clients are one loopback peer


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'r.db'}", auth_rate_limit=2, trusted_proxies=["127.0.0.1"]
    )
    with serving(create_app(settings)) as url, httpx.Client(base_url=url) as client:
        spoof = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}  # the proxy appended .9: that is the client
        assert [_attempt(client, **spoof) for _ in range(3)] == [200, 200, 429]
        assert _attempt(client, **{"X-Forwarded-For": "203.0.113.10"}) == 200  # another client, own budget


def test_the_sign_in_limit_is_shared_by_every_replica_through_redis(tmp_path: Path) -> None:
    redis.Redis.from_url(REDIS).flushdb()
    url = f"sqlite:///{tmp_path / 'r.db'}"
    replicas = [
        TestClient(create_app(make_settings(tmp_path, url, auth_rate_limit=10, redis_url=REDIS)))
        for _ in range(2)
    ]
    codes = [_attempt(replicas[i % 2]) for i in range(11)]
    assert codes == [200] * 10 + [429]  # the 11th, whichever replica gets it
