"""A Kubo node as the content store, through its RPC API (`/api/v0/...`), selected by SKILLCHAIN_IPFS_API.

ipfshttpclient refuses Kubo versions newer than 0.8 in `connect()`, so the RPC API is spoken directly
with httpx: multipart upload for `add`, streamed bytes for `cat`, JSON answers elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import httpx

from ipfs.errors import KuboError
from ipfs.store import AddResult


class KuboStore:
    """Same interface as EmbeddedStore, backed by a Kubo node."""

    def __init__(self, api_url: str, *, timeout: float = 60.0, client: httpx.Client | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def _post(self, command: str, params: dict[str, Any], **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.post(f"{self.api_url}/api/v0/{command}", params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise KuboError(f"Kubo RPC {command} failed: {exc}") from None
        if response.status_code != 200:
            try:
                message = response.json().get("Message", response.text)
            except ValueError:
                message = response.text
            raise KuboError(f"Kubo RPC {command} answered {response.status_code}: {message}")
        return response

    def version(self) -> str:
        return str(self._post("version", {}).json()["Version"])

    def add(self, stream: BinaryIO, *, cid_version: int = 1, pin: bool = True) -> AddResult:
        params = {
            "cid-version": cid_version,
            "raw-leaves": str(cid_version == 1).lower(),
            "pin": str(pin).lower(),
            "progress": "false",
        }
        response = self._post("add", params, files={"file": ("file", stream, "application/octet-stream")})
        # The answer is newline-delimited JSON objects; the file's entry is the last one.
        lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        if not lines:
            raise KuboError("Kubo RPC add returned no entry")
        last = lines[-1]
        return AddResult(cid=str(last["Hash"]), size=int(last["Size"]))

    def add_bytes(self, data: bytes, *, cid_version: int = 1, pin: bool = True) -> AddResult:
        import io

        return self.add(io.BytesIO(data), cid_version=cid_version, pin=pin)

    def cat(self, cid: str) -> Iterator[bytes]:
        url = f"{self.api_url}/api/v0/cat"
        try:
            with self.client.stream("POST", url, params={"arg": cid}) as response:
                if response.status_code != 200:
                    response.read()
                    raise KuboError(f"Kubo RPC cat answered {response.status_code}: {response.text}")
                yield from response.iter_bytes()
        except httpx.HTTPError as exc:
            raise KuboError(f"Kubo RPC cat failed: {exc}") from None

    def pin(self, cid: str) -> None:
        self._post("pin/add", {"arg": cid})

    def unpin(self, cid: str) -> None:
        self._post("pin/rm", {"arg": cid})

    def pins(self) -> list[str]:
        """The recursively pinned roots (what `ipfs pin ls --type=recursive` lists)."""
        keys = self._post("pin/ls", {"type": "recursive"}).json().get("Keys") or {}
        return sorted(str(k) for k in keys)
