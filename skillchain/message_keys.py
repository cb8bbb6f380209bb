"""The format of SKILLCHAIN_MESSAGE_KEYS, `id:base64-of-32-bytes,...`, checked in one place: by the
settings at start-up and by the key ring (api/messages/sealing.py) that uses the keys."""

from __future__ import annotations

import base64
import binascii
import re

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """[(id, 32-byte key)] in order (the first is the current key); ValueError in words otherwise."""
    keys: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key_id, sep, encoded = (x.strip() for x in part.partition(":"))
        if not sep or not KEY_ID.match(key_id):
            raise ValueError("expected id:base64 pairs separated by commas (ids: letters, digits, - or _)")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {key_id!r} is not base64") from None
        if len(key) != 32:
            raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
        if key_id in (k for k, _ in keys):
            raise ValueError(f"key id {key_id!r} appears twice")
        keys.append((key_id, key))
    if not keys:
        raise ValueError("no key given (unset the variable to use the data directory's key)")
    return keys
