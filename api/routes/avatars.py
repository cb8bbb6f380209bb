"""Profile pictures: the owner uploads one (PNG, JPEG, GIF or WebP, read from its content, at most
1 MiB); anyone fetches it by address. Kept in the database — never on IPFS, where a face could not
be erased — and gone with DELETE /me/avatar or DELETE /me."""

from __future__ import annotations

from typing import Annotated

import filetype
from fastapi import APIRouter, File, HTTPException, Path, Request, Response, UploadFile
from sqlalchemy import delete, select

from api.deps import ClockDep, ConnDep, CurrentSession
from api.models import ERRORS, Address
from db.market import avatars
from db.upsert import upsert

router = APIRouter(tags=["profiles"], responses=ERRORS)

MAX_BYTES = 1024 * 1024
IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def avatar_url(address: str, updated_at: int | None) -> str | None:
    """Where the dApp loads someone's picture (versioned, so a new one is not hidden by a cache)."""
    return f"/users/{address}/avatar?v={updated_at}" if updated_at is not None else None


@router.put(
    "/me/avatar",
    status_code=204,
    summary="Upload your profile picture (PNG, JPEG, GIF or WebP, at most 1 MiB)",
    description="A multipart form with `file`. The type is read from the content, not the name: anything "
    "else is refused with 415. Replaces the previous picture.",
    responses={413: {}, 415: {}, 422: {}},
)
def put_avatar(
    request: Request,
    file: Annotated[UploadFile, File(description="the image")],
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
) -> None:
    data = file.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise HTTPException(413, f"a profile picture is at most {MAX_BYTES:,} bytes")
    if not data:
        raise HTTPException(422, "file: the file is empty")
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in IMAGES:
        raise HTTPException(
            415, "a profile picture is a PNG, JPEG, GIF or WebP image (read from its content)"
        )
    row = {
        "address": session.address,
        "media_type": kind.mime,
        "size": len(data),
        "content": data,
        "updated_at": int(clock()),
    }
    conn.execute(upsert(conn, avatars, row, ["address"]))


@router.delete("/me/avatar", status_code=204, summary="Remove your profile picture")
def delete_avatar(session: CurrentSession, conn: ConnDep) -> None:
    conn.execute(delete(avatars).where(avatars.c.address == session.address))


@router.get(
    "/users/{address}/avatar",
    summary="Someone's profile picture (404: none; the dApp then draws an identicon)",
    response_class=Response,
    responses={200: {"content": {t: {} for t in sorted(IMAGES)}}, 404: {}},
)
def get_avatar(address: Annotated[Address, Path()], conn: ConnDep) -> Response:
    row = conn.execute(select(avatars).where(avatars.c.address == address)).first()
    if row is None:
        raise HTTPException(404, f"{address} has no profile picture")
    return Response(
        content=bytes(row.content),
        media_type=row.media_type,
        headers={
            "Cache-Control": "public, max-age=300",
            "ETag": f'"{row.updated_at}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )
