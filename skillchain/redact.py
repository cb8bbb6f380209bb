"""What `skillchain config` and `up` may print of a setting: never a secret. Keys and secrets are
masked whole; URLs lose their password and any path segment or query value that looks like an API
key (Alchemy, Infura and most RPC providers put the key in the path)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from pydantic import SecretStr

MASK = "********"
_SECRET_NAMES = ("key", "secret", "password", "token")
_KEYLIKE = re.compile(r"^[A-Za-z0-9_\-]{20,}$")


def redact_url(url: str) -> str:
    """`url` with its password and key-like path segments and query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    elif parts.username is not None:  # https://KEY@host: a key passed as the user name
        netloc = netloc.replace(f"{parts.username}@", f"{MASK}@", 1)
    path = "/".join(MASK if _KEYLIKE.match(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(
        f"{k}={MASK}"
        if _KEYLIKE.match(v) or any(w in k.lower() for w in _SECRET_NAMES)
        else (f"{k}={v}" if sep else k)
        for k, sep, v in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit(SplitResult(parts.scheme, netloc, path, query, ""))


def shown_setting(name: str, value: Any) -> Any:
    """The printable form of setting `name`."""
    if value is None:
        return None
    if isinstance(value, SecretStr) or any(word in name for word in _SECRET_NAMES):
        return MASK
    if not isinstance(value, bool | int | float | list | dict) and "://" in str(value):
        return redact_url(str(value))  # str, or pydantic's URL types
    if isinstance(value, dict):
        return {k: redact_url(v) if isinstance(v, str) and "://" in v else v for k, v in value.items()}
    return value
