"""Encryption at rest for messages, attachments and their live-stream items: AES-256-GCM (the
`cryptography` package) with a key ring.

New writes use the first (current) key; every key in the ring still opens what it sealed, so a
rotation is "put a new key first, restart the replicas one by one" — no downtime, old rows stay
readable. Each ciphertext is bound to its context (the thread and sender of a message) by the
associated data, so a row copied into another thread does not open. A database dump alone reveals
nothing: the keys live only in configuration (or, on a single node without configuration, in a
file of the data directory that the database never holds).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from skillchain.message_keys import KEY_ID
from skillchain.message_keys import parse_keys as _parse

NONCE_BYTES = 12
KEY_FILE = "message-keys"


class SealingError(Exception):
    """A key ring that cannot be used, or a ciphertext no key of the ring opens."""


class Sealer:
    """Seals with the current key; opens with whichever key sealed."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise SealingError("no message key configured")
        self._keys: dict[str, AESGCM] = {}
        for key_id, key in keys:
            if not KEY_ID.match(key_id):
                raise SealingError(f"message key id {key_id!r}: 1–32 letters, digits, '-' or '_'")
            if len(key) != 32:
                raise SealingError(f"message key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
            if key_id in self._keys:
                raise SealingError(f"message key id {key_id!r} appears twice")
            self._keys[key_id] = AESGCM(key)
        self.current = keys[0][0]

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def seal(self, plaintext: bytes, context: bytes) -> tuple[str, bytes]:
        """(key id, nonce ‖ ciphertext ‖ tag) of `plaintext`, bound to `context`."""
        nonce = os.urandom(NONCE_BYTES)
        return self.current, nonce + self._keys[self.current].encrypt(nonce, plaintext, context)

    def open(self, key_id: str, sealed: bytes, context: bytes) -> bytes:
        aead = self._keys.get(key_id)
        if aead is None:
            raise SealingError(f"message key {key_id!r} is no longer configured")
        try:
            return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag:
            raise SealingError("a sealed value does not open: altered, or moved to another context") from None

    def seal_text(self, text: str, context: bytes) -> str:
        """A sealed value as one ASCII token, `key-id.base64url` (for JSON, e.g. outbox payloads)."""
        key_id, sealed = self.seal(text.encode(), context)
        return f"{key_id}.{base64.urlsafe_b64encode(sealed).decode()}"

    def open_text(self, token: str, context: bytes) -> str:
        key_id, _, data = token.partition(".")
        try:
            sealed = base64.urlsafe_b64decode(data)
        except (binascii.Error, ValueError):
            raise SealingError("a sealed value is not base64") from None
        return self.open(key_id, sealed, context).decode()


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """`id:base64,id:base64` → [(id, key)], in order (the first is the current key)."""
    try:
        return _parse(text)
    except ValueError as e:
        raise SealingError(f"message keys: {e}") from None


def new_key_line(key_id: str | None = None) -> str:
    """A fresh `id:base64` entry for SKILLCHAIN_MESSAGE_KEYS (`skillchain messages new-key`)."""
    return f"{key_id or 'k' + secrets.token_hex(4)}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def open_sealer(configured: str | None, data_dir: Path) -> Sealer:
    """The configured key ring; without one, a key generated once into the data directory (mode 0600,
    beside the SQLite file — fine for one node, and said in the docs: replicas must configure keys)."""
    if configured:
        return Sealer(parse_keys(configured))
    path = data_dir / KEY_FILE
    if not path.exists():
        # Written whole under another name, then linked into place: two processes starting at once
        # agree on one key (the second link fails and that process reads the first one's file).
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_key_line("local") + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return Sealer(parse_keys(path.read_text()))
