"""A trustless gateway (IPFS Trustless Gateway spec) over the embedded store, mounted by the API at /ipfs.

`GET /ipfs/{cid}` returns the file; `?format=raw` (or `Accept: application/vnd.ipld.raw`) the single
block; `?format=car` (or `Accept: application/vnd.ipld.car`) the whole DAG as CAR v1. Responses are
immutable. Everything served is verified first: a corrupted block is an error, never content.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import StreamingResponse

from ipfs.car import CAR_MEDIA_TYPE
from ipfs.cid import parse_cid
from ipfs.errors import BlockCorrupted, BlockNotFound, InvalidCid
from ipfs.store import EmbeddedStore

RAW_MEDIA_TYPE = "application/vnd.ipld.raw"
IMMUTABLE = "public, max-age=29030400, immutable"


def _sniff(first: bytes) -> str:
    stripped = first.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "application/json"
    if first.startswith(b"\x89PNG"):
        return "image/png"
    if first.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    try:
        first.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def gateway_router(store: EmbeddedStore) -> APIRouter:
    router = APIRouter(tags=["ipfs"])

    @router.get(
        "/ipfs/{cid}",
        summary="Fetch content by CID (trustless gateway)",
        responses={400: {"description": "malformed CID"}, 404: {"description": "unknown CID"}},
    )
    def get(
        cid: str,
        format: Annotated[str | None, Query(pattern="^(raw|car)$")] = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        try:
            parsed = parse_cid(cid)
        except InvalidCid as exc:
            raise HTTPException(400, str(exc)) from None
        wanted = format
        if wanted is None and accept:
            if RAW_MEDIA_TYPE in accept:
                wanted = "raw"
            elif CAR_MEDIA_TYPE in accept:
                wanted = "car"
        headers = {
            "Cache-Control": IMMUTABLE,
            "X-Ipfs-Path": f"/ipfs/{cid}",
            "X-Content-Type-Options": "nosniff",
        }
        try:
            if wanted == "raw":
                block = store.get_block(parsed)
                headers["ETag"] = f'"{cid}.raw"'
                return Response(block, media_type=RAW_MEDIA_TYPE, headers=headers)
            store.verify(cid)  # the whole DAG, before the first byte is sent
            if wanted == "car":
                headers["ETag"] = f'"{cid}.car"'
                return StreamingResponse(
                    store.export_car(cid), media_type=f"{CAR_MEDIA_TYPE}; version=1", headers=headers
                )
            chunks = store.cat(cid)
            first = next(chunks, b"")
            headers["ETag"] = f'"{cid}"'

            def body() -> object:
                yield first
                yield from chunks

            return StreamingResponse(body(), media_type=_sniff(first[:512]), headers=headers)  # type: ignore[arg-type]
        except BlockNotFound as exc:
            raise HTTPException(404, f"{exc.cid} is not available here") from None
        except BlockCorrupted as exc:
            raise HTTPException(502, f"block {exc.cid} failed verification; nothing served") from None

    return router
