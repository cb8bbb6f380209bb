"""The signed-in wallet's own data: export, erasure, and a live stream of its on-chain events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import delete, select

from api.deps import ConnDep, CurrentSession, SettingsDep
from api.models import ERRORS
from db.auth import auth_sessions
from db.chain import chain_events
from db.market import evidence, listings, profiles

router = APIRouter(tags=["account"], responses=ERRORS)

KEPT = {
    "dispute_evidence": (
        "evidence documents belong to a dispute record the other party and the arbiter rely on; "
        "their content "
        "lives on IPFS (content-addressed, not erasable by us) and names only wallets"
    ),
    "on_chain": (
        "engagements, reviews and credentials are public blockchain state: no one can erase them, "
        "which is why "
        "nothing personal is ever put there (only wallet addresses, amounts, dates and document digests)"
    ),
}


class ExportPublic(BaseModel):
    address: str
    profile: dict[str, Any] | None
    listings: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    retention_notes: dict[str, str]


def _rows(conn: ConnDep, query: Any) -> list[dict[str, Any]]:
    return [
        {k: (str(v) if v is not None and not isinstance(v, (int, bool, str)) else v) for k, v in r.items()}
        for r in conn.execute(query).mappings()
    ]


@router.get(
    "/me/export", response_model=ExportPublic, summary="Everything off-chain about the signed-in wallet"
)
def export(session: CurrentSession, conn: ConnDep) -> ExportPublic:
    a = session.address
    profile = _rows(conn, select(profiles).where(profiles.c.address == a))
    return ExportPublic(
        address=a,
        profile=profile[0] if profile else None,
        listings=_rows(conn, select(listings).where(listings.c.owner == a)),
        evidence=_rows(conn, select(evidence).where(evidence.c.author == a)),
        sessions=_rows(
            conn,
            select(
                auth_sessions.c.chain_id,
                auth_sessions.c.created_at,
                auth_sessions.c.expires_at,
                auth_sessions.c.revoked_at,
            ).where(auth_sessions.c.address == a),
        ),
        retention_notes=KEPT,
    )


class ErasedPublic(BaseModel):
    erased: dict[str, int]
    kept: dict[str, str]


@router.delete("/me", response_model=ErasedPublic, summary="Erase the signed-in wallet's off-chain data")
def erase(session: CurrentSession, conn: ConnDep) -> ErasedPublic:
    a = session.address
    erased = {
        "profile": conn.execute(delete(profiles).where(profiles.c.address == a)).rowcount,
        "listings": conn.execute(delete(listings).where(listings.c.owner == a)).rowcount,
        "sessions": conn.execute(delete(auth_sessions).where(auth_sessions.c.address == a)).rowcount,
    }
    return ErasedPublic(erased=erased, kept=KEPT)


@router.get("/events/stream", summary="Server-sent events: indexed on-chain events that concern you")
async def stream(request: Request, session: CurrentSession, settings: SettingsDep) -> StreamingResponse:
    engine = request.app.state.engine
    address = session.address
    with engine.connect() as conn:
        start = conn.execute(
            select(chain_events.c.block_number).order_by(chain_events.c.block_number.desc())
        ).scalar()
    last = int(start or 0)

    async def events() -> AsyncIterator[str]:
        nonlocal last
        yield ": connected\n\n"
        while not await request.is_disconnected():
            with engine.connect() as conn:
                rows = (
                    conn.execute(
                        select(chain_events)
                        .where(
                            chain_events.c.chain_id == settings.chain_id,
                            chain_events.c.block_number > last,
                            chain_events.c.args.like(f'%"{address}"%'),
                        )
                        .order_by(chain_events.c.block_number, chain_events.c.log_index)
                        .limit(100)
                    )
                    .mappings()
                    .all()
                )
            for r in rows:
                last = max(last, r["block_number"])
                payload = {
                    "event": r["event"],
                    "block": r["block_number"],
                    "tx": r["tx_hash"],
                    "args": json.loads(r["args"]),
                }
                yield f"event: {r['event']}\ndata: {json.dumps(payload)}\n\n"
            if not rows:
                with engine.connect() as conn:
                    head = conn.execute(
                        select(chain_events.c.block_number).order_by(chain_events.c.block_number.desc())
                    ).scalar()
                last = max(last, int(head or 0))
                await asyncio.sleep(0.5)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
