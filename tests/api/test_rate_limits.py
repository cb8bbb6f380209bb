"""Rate limits: keyed on the direct peer unless it is a trusted proxy, and shared by every replica
through Redis (127.0.0.1:6379)."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.ratelimit import MemoryWindows, RateLimiter
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


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_memory_window_moves_with_the_clock_and_says_how_long_to_wait() -> None:
    clock = _Clock()
    windows = MemoryWindows(limit=3, window=60, clock=clock)
    assert [windows.hit("a", 1) for _ in range(3)] == [None, None, None]
    assert windows.hit("a", 1) == 60  # the first hit leaves the window in 60 s
    assert windows.hit("b", 1) is None  # another key has its own window
    clock.now += 30
    assert windows.hit("a", 1) == 30
    clock.now += 30  # the first three hits are out of the window now
    assert windows.hit("a", 2) is None
    assert windows.hit("a", 2) == 60  # only one more fits until the last two leave
    assert windows.hit("a", 1) is None
    assert windows.hit("a", 4) == 60  # more than the whole limit never fits


def test_the_memory_window_forgets_idle_keys() -> None:
    clock = _Clock()
    windows = MemoryWindows(limit=5, window=10, clock=clock)
    for i in range(100):
        windows.hit(f"client-{i}", 1)
    assert len(windows) == 100
    clock.now += 11
    windows.hit("late", 1)  # the first check after a window sweeps the idle keys
    assert len(windows) == 1


def test_a_limiter_in_memory_refuses_with_retry_after_in_whole_seconds() -> None:
    clock = _Clock()
    limiter = RateLimiter(2, 60.0, clock=clock)
    assert limiter.check("x") is None and limiter.check("x") is None
    clock.now += 0.5
    assert limiter.check("x") == 60  # 59.5 s, rounded up
    assert RateLimiter(0).check("x") is None  # 0 = off
