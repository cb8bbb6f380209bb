"""Database engines: SQLite in the data folder by default (WAL), PostgreSQL when configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'skillchain.db').resolve()}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout for concurrent readers."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # No pool limit for SQLite (a connection is a file handle): a request holds its connection from
        # its dependency until its route has run on a worker thread, so a bounded pool smaller than
        # the number of requests in flight can deadlock (every thread waiting for a connection that a
        # request waiting for a thread holds).
        kwargs = {"poolclass": NullPool} | kwargs
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Same reason on PostgreSQL: a generous overflow; keep requests in flight x replicas below the
    # server's max_connections (100 by default).
    kwargs = {"pool_size": 10, "max_overflow": 80} | kwargs
    return create_engine(url, pool_pre_ping=True, **kwargs)
