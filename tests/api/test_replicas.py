"""Several replicas on PostgreSQL: two API replicas (each its own stream hub and LISTEN connection)
and two indexer processes (`skillchain index`, leader and standby). A learner on replica A and a
mentor on replica B hear each other's steps; a 20 KB room signal written through replica B reaches
the learner on A (beyond NOTIFY's 8,000-byte payload: the bus only wakes); SIGKILL the leading
indexer — the standby takes over, and the read model equals a clean re-index."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from bus import outbox
from bus.outbox import OutboxItem
from bus.wake import PostgresBus, _libpq_dsn
from chain.toolchain import VENV_BIN
from chain.tx import anvil_account
from db.engine import make_engine
from db.migrate import upgrade
from indexer.rpc import RpcClient
from indexer.runner import Indexer, IndexerConfig
from tests.api.conftest import pg_database
from tests.api.conftest_chain import Stack
from tests.api.stream_client import Listener
from tests.indexer.activity import dump
from tests.net import serve_in_thread

LEARNER, MENTOR = anvil_account(1), anvil_account(2)


def _indexer(stack: Stack, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SKILLCHAIN_DATA_DIR": str(stack.settings.data_dir),
        "SKILLCHAIN_DEPLOYMENTS_DIR": str(stack.settings.deployments_dir),
        "SKILLCHAIN_DATABASE_URL": database_url,
        "SKILLCHAIN_ANVIL_PORT": str(stack.settings.anvil_port),
        "SKILLCHAIN_FINALITY_DEPTH": "64",
        "SKILLCHAIN_INDEX_POLL_INTERVAL": "0.1",
        "SKILLCHAIN_LOG_FORMAT": "text",
    }
    return subprocess.Popen(
        [str(VENV_BIN / "skillchain"), "index"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def _await_line(log: Path, needle: str, timeout: float = 90.0) -> None:
    """Wait until an indexer process has logged `needle` (its start-up takes seconds under load)."""
    deadline = time.monotonic() + timeout
    while needle not in (text := log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, f"{log.name} never logged {needle!r}:\n{text}"
        time.sleep(0.1)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


def test_two_replicas_and_two_indexers_on_postgresql(stack: Stack, pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    leader = _indexer(stack, pg_url, tmp_path / "leader.log")
    _await_line(tmp_path / "leader.log", "this indexer leads chain")  # the first takes the lock
    standby = _indexer(stack, pg_url, tmp_path / "standby.log")
    _await_line(tmp_path / "standby.log", "standing by")
    settings = stack.settings.model_copy(update={"database_url": pg_url})
    servers = [serve_in_thread(create_app(settings)) for _ in range(2)]
    (a, *_), (b, *_) = servers
    try:
        from fastapi.testclient import TestClient

        on_a, on_b = TestClient(create_app(settings)), TestClient(create_app(settings))
        learner, mentor = stack.sign_in(LEARNER, on_a), stack.sign_in(MENTOR, on_b)
        heard_by_learner = Listener(a, learner).start()
        heard_by_mentor = Listener(b, mentor).start()

        prepared = on_a.post(
            "/engagements/prepare",
            headers=learner,
            json={
                "provider": MENTOR.address,
                "title": "Across replicas",
                "skill": "python",
                "milestones": [{"title": "m", "amount": "999", "due_date": int(time.time()) + 86400}],
            },
        ).json()
        stack.send(LEARNER, prepared["tx"])  # the leading indexer (another process) indexes it
        [created] = heard_by_mentor.wait_for("EngagementCreated")
        eid = created.data["engagement_id"]
        stack.send(MENTOR, on_b.post(f"/engagements/{eid}/accept", headers=mentor).json())
        heard_by_learner.wait_for("EngagementAccepted", engagement=eid)
        heard_by_mentor.wait_for("EngagementAccepted", engagement=eid)

        # A room signal as replica B writes it: in the outbox with its cause, then a wake-up.
        sdp = "v=0 " + "a=candidate:" * 1800  # over 20 KB, more than NOTIFY could carry
        assert len(sdp) > 20_000
        with engine.begin() as conn:
            outbox.append(conn, [OutboxItem("signal", frozenset({LEARNER.address}), {"sdp": sdp})])
        PostgresBus(_libpq_dsn(pg_url)).wake()
        heard_by_learner.wait(
            lambda: any(r.event == "signal" and r.data.get("sdp") == sdp for r in heard_by_learner.items),
            "the 20 KB signal",
        )

        leader.send_signal(signal.SIGKILL)  # the leader dies mid-flight; the standby takes over
        leader.wait(timeout=10)
        again = on_a.post(
            "/engagements/prepare",
            headers=learner,
            json={
                "provider": MENTOR.address,
                "title": "After the failover",
                "skill": "python",
                "milestones": [{"title": "m", "amount": "999", "due_date": int(time.time()) + 86400}],
            },
        ).json()
        stack.send(LEARNER, again["tx"])
        heard_by_mentor.wait_for("EngagementCreated", count=2)
        _await_line(tmp_path / "standby.log", "the leader's lock is free")
        for listener in (heard_by_learner, heard_by_mentor):
            ids = listener.ids()
            assert ids == sorted(set(ids))
            listener.close()
    finally:
        for _, server, thread in servers:
            server.should_exit = True
            thread.join(timeout=5)
        for proc in (leader, standby):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=20)

    with pg_database() as fresh_url:
        fresh = make_engine(fresh_url)
        upgrade(fresh)
        config = IndexerConfig.from_record(stack.record, finality_depth=64)
        Indexer(fresh, RpcClient(stack.chain.url), config).run(once=True)
        assert dump(engine) == dump(fresh)  # failover left exactly what a clean re-index builds
        fresh.dispose()
    engine.dispose()


def test_with_redis_the_bus_crosses_replicas_on_its_pub_sub(stack: Stack, pg_url: str) -> None:
    """SKILLCHAIN_REDIS_URL set: the replicas wake each other over Redis pub/sub (not LISTEN)."""
    from bus.wake import RedisBus

    settings = stack.settings.model_copy(
        update={"database_url": pg_url, "redis_url": "redis://127.0.0.1:6379/12"}
    )
    app_a, app_b = create_app(settings), create_app(settings)
    assert app_a.state.hub.bus.name == "redis"
    (a, server_a, thread_a), (_b, server_b, thread_b) = serve_in_thread(app_a), serve_in_thread(app_b)
    try:
        from fastapi.testclient import TestClient

        learner = stack.sign_in(LEARNER, TestClient(app_b))  # signed in through B, streaming from A
        heard = Listener(a, learner).start()
        big = "x" * 20_000
        engine = make_engine(pg_url)
        with engine.begin() as conn:
            outbox.append(conn, [OutboxItem("signal", frozenset({LEARNER.address}), {"sdp": big})])
        RedisBus("redis://127.0.0.1:6379/12").wake()  # as replica B does after its commit
        heard.wait(lambda: any(r.data.get("sdp") == big for r in heard.items), "the signal over Redis")
        assert app_a.state.hub.stats().bus_healthy
        heard.close()
        engine.dispose()
    finally:
        for server, thread in ((server_a, thread_a), (server_b, thread_b)):
            server.should_exit = True
            thread.join(timeout=5)
