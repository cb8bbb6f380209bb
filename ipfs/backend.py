"""Choose the content store: the embedded blockstore by default, a Kubo node when configured."""

from __future__ import annotations

from pathlib import Path

from ipfs.kubo import KuboStore
from ipfs.store import ContentStore, EmbeddedStore


def open_store(*, data_dir: Path, kubo_api: str | None = None) -> ContentStore:
    if kubo_api:
        return KuboStore(kubo_api)
    return EmbeddedStore(data_dir / "ipfs")
