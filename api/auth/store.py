"""Nonce and session storage for sign-in. The nonce is consumed with one conditional DELETE, so of
any number of concurrent submissions exactly one can win, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, insert, select, update

from db.auth import auth_nonces, auth_sessions

NONCE_TTL = 300  # seconds


def new_nonce(*, conn: Connection, now: int) -> str:
    """A fresh 128-bit nonce (hex, so EIP-4361-alphanumeric), stored for NONCE_TTL seconds."""
    nonce = secrets.token_hex(16)
    conn.execute(delete(auth_nonces).where(auth_nonces.c.expires_at <= now))  # keep the table small
    conn.execute(insert(auth_nonces).values(nonce=nonce, expires_at=now + NONCE_TTL))
    return nonce


def consume_nonce(*, conn: Connection, nonce: str, now: int) -> bool:
    """Atomically use a nonce; True only for the one caller that removed a live nonce."""
    result = conn.execute(
        delete(auth_nonces).where(and_(auth_nonces.c.nonce == nonce, auth_nonces.c.expires_at > now))
    )
    return result.rowcount == 1


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    address: str
    chain_id: int
    expires_at: int


def create_session(*, conn: Connection, address: str, chain_id: int, now: int, ttl: int) -> tuple[str, int]:
    token = secrets.token_urlsafe(32)
    expires = now + ttl
    conn.execute(
        insert(auth_sessions).values(
            token_hash=token_hash(token),
            address=address,
            chain_id=chain_id,
            created_at=now,
            expires_at=expires,
        )
    )
    return token, expires


def find_session(*, conn: Connection, token: str, now: int) -> Session | None:
    row = conn.execute(
        select(auth_sessions.c.address, auth_sessions.c.chain_id, auth_sessions.c.expires_at).where(
            auth_sessions.c.token_hash == token_hash(token),
            auth_sessions.c.revoked_at.is_(None),
            auth_sessions.c.expires_at > now,
        )
    ).first()
    return Session(row.address, row.chain_id, row.expires_at) if row else None


def revoke_session(*, conn: Connection, token: str, now: int) -> bool:
    result = conn.execute(
        update(auth_sessions)
        .where(auth_sessions.c.token_hash == token_hash(token), auth_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1
