"""The bus: it only wakes the API replicas ("the outbox grew"); the items themselves are read from
the outbox, so a lost wake-up delays an item by at most the readers' fallback poll and no payload
limit applies (PostgreSQL's NOTIFY payload must stay under 8,000 bytes).

- in-process: one node (the indexer and the API in one `skillchain up`, or tests);
- PostgreSQL LISTEN/NOTIFY (psycopg's own `notifies()`), when the database is PostgreSQL;
- Redis pub/sub (redis-py), when `SKILLCHAIN_REDIS_URL` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("skillchain.bus")

CHANNEL = "skillchain_outbox"


class Bus(Protocol):
    name: str

    def wake(self, seq: int | None = None) -> None:
        """Tell every listener the outbox grew (call it after the writer's commit)."""

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (from a background thread) on every wake-up; returns a stopper."""

    def healthy(self) -> bool:
        """Whether wake-ups are being received (the listener is connected)."""


class InProcessBus:
    """Wake-ups between threads of one process; one instance per process (`shared()`)."""

    name = "in-process"
    _shared: InProcessBus | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> InProcessBus:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def wake(self, seq: int | None = None) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def stop() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return stop

    def healthy(self) -> bool:
        return True


class _Sender:
    """Sends wake-ups from a background thread, coalesced: `wake()` never blocks the writer (the
    indexer after each commit) on a slow or unreachable bus; many wake-ups in a burst become one."""

    def __init__(self, send: Callable[[], object], name: str) -> None:
        self._send = send
        self._pending = threading.Event()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def request(self) -> None:
        self._pending.set()

    def _run(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            try:
                self._send()
            except Exception as exc:  # noqa: BLE001 - a lost wake-up costs one poll interval, no more
                log.warning("could not wake the API replicas (they will poll): %s", exc)
                time.sleep(1.0)


class PostgresBus:
    """NOTIFY after a commit; LISTEN on a dedicated autocommit connection in a thread, reconnecting
    after a failure (wake-ups lost meanwhile are covered by the readers' fallback poll). TCP
    keepalives and a periodic `SELECT 1` notice a connection that died silently."""

    name = "postgresql"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connected = threading.Event()
        self._notify_conn: Any = None
        self._sender = _Sender(self._notify, "bus-notify-pg")

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            self.dsn,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
        )

    def wake(self, seq: int | None = None) -> None:
        self._sender.request()

    def _notify(self) -> None:
        try:
            if self._notify_conn is None or self._notify_conn.closed:
                self._notify_conn = self._connect()
            self._notify_conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        except Exception:
            if self._notify_conn is not None:
                self._notify_conn.close()
            self._notify_conn = None
            raise

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        import psycopg

        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    with self._connect() as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        self._connected.set()
                        callback()  # anything committed while we were not listening
                        beat = time.monotonic()
                        while not stop.is_set():
                            for _ in conn.notifies(timeout=0.5):
                                callback()
                            if time.monotonic() - beat > 10:  # a dead socket raises here
                                conn.execute("SELECT 1")
                                beat = time.monotonic()
                except (psycopg.Error, OSError) as exc:
                    log.warning("LISTEN connection lost (retrying in 1 s): %s", exc)
                except Exception:
                    log.exception("LISTEN thread failed (retrying in 1 s)")
                finally:
                    self._connected.clear()
                stop.wait(1.0)

        thread = threading.Thread(target=run, name="bus-listen-pg", daemon=True)
        thread.start()

        def stopper() -> None:
            stop.set()
            thread.join(timeout=5)

        return stopper

    def healthy(self) -> bool:
        return self._connected.is_set()


class RedisBus:
    """PUBLISH after a commit; a pub/sub subscription in a thread (redis-py), reconnecting."""

    name = "redis"

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._connected = threading.Event()
        self._sender = _Sender(lambda: self._client.publish(CHANNEL, ""), "bus-publish-redis")

    def wake(self, seq: int | None = None) -> None:
        self._sender.request()

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        import redis

        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                client = redis.Redis.from_url(self.url, socket_connect_timeout=5, health_check_interval=10)
                pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                try:
                    pubsub.subscribe(CHANNEL)
                    self._connected.set()
                    callback()
                    beat = time.monotonic()
                    while not stop.is_set():
                        if pubsub.get_message(timeout=0.5) is not None:
                            callback()
                        if time.monotonic() - beat > 10:  # a dead connection raises here
                            pubsub.ping()
                            beat = time.monotonic()
                except (redis.RedisError, OSError) as exc:
                    log.warning("Redis subscription lost (retrying in 1 s): %s", exc)
                except Exception:
                    log.exception("Redis listener failed (retrying in 1 s)")
                finally:
                    self._connected.clear()
                    pubsub.close()
                    client.close()
                stop.wait(1.0)

        thread = threading.Thread(target=run, name="bus-listen-redis", daemon=True)
        thread.start()

        def stopper() -> None:
            stop.set()
            thread.join(timeout=5)

        return stopper

    def healthy(self) -> bool:
        return self._connected.is_set()


def open_bus(database_url: str, redis_url: str | None) -> Bus:
    """Redis when configured, else PostgreSQL LISTEN/NOTIFY on PostgreSQL, else in-process."""
    if redis_url:
        return RedisBus(redis_url)
    if database_url.startswith(("postgresql", "postgres")):
        return PostgresBus(_libpq_dsn(database_url))
    return InProcessBus.shared()


def _libpq_dsn(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as the libpq URI psycopg connects with."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)
