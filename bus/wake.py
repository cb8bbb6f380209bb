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
from collections.abc import Callable
from typing import Protocol

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


class PostgresBus:
    """NOTIFY after a commit; LISTEN on a dedicated autocommit connection in a thread, reconnecting
    after a failure (wake-ups lost meanwhile are covered by the readers' fallback poll)."""

    name = "postgresql"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connected = threading.Event()
        self._notify_lock = threading.Lock()
        self._notify_conn: object | None = None

    def wake(self, seq: int | None = None) -> None:
        import psycopg

        with self._notify_lock:
            try:
                if self._notify_conn is None or self._notify_conn.closed:  # type: ignore[attr-defined]
                    self._notify_conn = psycopg.connect(self.dsn, autocommit=True)
                self._notify_conn.execute(  # type: ignore[attr-defined]
                    "SELECT pg_notify(%s, %s)", (CHANNEL, str(seq or ""))
                )
            except psycopg.Error as exc:
                log.warning("could not NOTIFY the API replicas (they will poll): %s", exc)
                self._notify_conn = None

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        import psycopg

        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    with psycopg.connect(self.dsn, autocommit=True) as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        self._connected.set()
                        callback()  # anything committed while we were not listening
                        while not stop.is_set():
                            for _ in conn.notifies(timeout=0.5):
                                callback()
                except psycopg.Error as exc:
                    log.warning("LISTEN connection lost (retrying in 1 s): %s", exc)
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

    def wake(self, seq: int | None = None) -> None:
        import redis

        try:
            self._client.publish(CHANNEL, str(seq or ""))
        except redis.RedisError as exc:
            log.warning("could not PUBLISH to the API replicas (they will poll): %s", exc)

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        import redis

        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                client = redis.Redis.from_url(self.url, socket_connect_timeout=5)
                pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                try:
                    pubsub.subscribe(CHANNEL)
                    self._connected.set()
                    callback()
                    while not stop.is_set():
                        if pubsub.get_message(timeout=0.5) is not None:
                            callback()
                except redis.RedisError as exc:
                    log.warning("Redis subscription lost (retrying in 1 s): %s", exc)
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
