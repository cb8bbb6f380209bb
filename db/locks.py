"""PostgreSQL session advisory locks: held by one connection until released or until the session
dies (even by SIGKILL), so a standby or another replica can take over."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text


def try_session_lock(engine: Engine, lock_class: int, key: int) -> Callable[[], None] | None:
    """Take `pg_try_advisory_lock(lock_class, key)` on a connection of its own; the function that
    releases it, or None when another session holds it."""
    params = {"cls": lock_class, "key": key % 2**31}
    conn = engine.connect()
    got = conn.execute(text("SELECT pg_try_advisory_lock(:cls, :key)"), params).scalar()
    conn.commit()
    if not got:
        conn.close()
        return None

    def release() -> None:
        conn.execute(text("SELECT pg_advisory_unlock(:cls, :key)"), params)
        conn.close()

    return release
