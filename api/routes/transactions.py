"""GET /tx/{hash}: "is my transaction indexed yet?" — so the dApp never shows stale data after sending."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.models import ERRORS
from bus.outbox import json_safe
from chain.errors import TxWouldRevert
from chain.receipts import ChainTx, lookup
from chain.records import load_record, record_path
from db.chain import chain_events, indexer_checkpoints

router = APIRouter(tags=["transactions"], responses=ERRORS)

TxHash = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="the transaction's hash")]


class TxEvent(BaseModel):
    name: str
    contract: str | None
    log_index: int
    engagement_id: int | None
    args: dict[str, Any]


class TxRevert(BaseModel):
    contract: str
    error: str
    fields: dict[str, Any]
    detail: str


class TxStatus(BaseModel):
    """Where a transaction stands, from the chain's and the read model's point of view."""

    hash: str
    status: Literal["unknown", "pending", "mined", "indexed", "reverted"] = Field(
        description="unknown: the node has never seen it; pending: not mined; mined: mined, the read "
        "model has not reached its block yet; indexed: the read model includes it (`events` is what it "
        "changed); reverted: mined and failed (`revert` says why)"
    )
    block_number: int | None = None
    events: list[TxEvent] = Field(default_factory=list)
    revert: TxRevert | None = None


FINAL = {"indexed", "reverted"}


def _status(request: Request, tx_hash: str) -> TxStatus:
    settings = request.app.state.settings
    record = load_record(
        record_path(settings.chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir)
    )
    names = {e.address.lower(): n for n, e in record.contracts.items()} if record else {}
    try:
        chain = lookup(settings.effective_rpc_url, tx_hash, contract_names=names)
    except Exception as exc:  # noqa: BLE001 - an unreachable node is a 503 in words, not a 500
        raise HTTPException(
            503, f"the chain's RPC endpoint cannot be reached: {type(exc).__name__}"
        ) from None
    if chain.state != "mined":
        return _answer(tx_hash, chain)
    with request.app.state.engine.connect() as conn:
        indexed_to = conn.execute(
            select(indexer_checkpoints.c.block_number).where(
                indexer_checkpoints.c.chain_id == settings.chain_id
            )
        ).scalar()
        if indexed_to is None or chain.block_number is None or indexed_to < chain.block_number:
            return TxStatus(hash=tx_hash, status="mined", block_number=chain.block_number)
        rows = conn.execute(
            select(
                chain_events.c.event, chain_events.c.address, chain_events.c.log_index, chain_events.c.args
            )
            .where(
                chain_events.c.chain_id == settings.chain_id,
                chain_events.c.block_number == chain.block_number,
                chain_events.c.tx_hash == tx_hash.lower(),
            )
            .order_by(chain_events.c.log_index)
        ).all()
    events = []
    for name, address, log_index, args_json in rows:
        args = json.loads(args_json)
        contract = names.get(str(address).lower())
        key = "id" if contract == "SkillEscrow" else "engagementId"
        engagement = args.get(key) if isinstance(args.get(key), int) else None
        events.append(
            TxEvent(
                name=name,
                contract=contract,
                log_index=log_index,
                engagement_id=engagement,
                args=json_safe(args),
            )
        )
    return TxStatus(hash=tx_hash, status="indexed", block_number=chain.block_number, events=events)


def _answer(tx_hash: str, chain: ChainTx) -> TxStatus:
    revert = None
    if chain.reason is not None:
        r: TxWouldRevert = chain.reason
        revert = TxRevert(contract=r.contract, error=r.error, fields=json_safe(r.fields), detail=r.notice)
    return TxStatus(hash=tx_hash, status=chain.state, block_number=chain.block_number, revert=revert)


@router.get(
    "/tx/{tx_hash}",
    response_model=TxStatus,
    summary="Is my transaction indexed yet? (optionally waits)",
    responses={503: {"description": "the chain's RPC endpoint cannot be reached"}},
)
async def tx_status(
    tx_hash: TxHash,
    request: Request,
    wait: Annotated[
        float,
        Query(ge=0, le=30, description="seconds to wait for it to be indexed or to revert (long-poll)"),
    ] = 0,
) -> TxStatus:
    deadline = time.monotonic() + wait
    hub = request.app.state.hub
    if wait:
        await asyncio.to_thread(hub.start)
    woken, forget = hub.tx_waiter(tx_hash, asyncio.get_running_loop()) if wait else (None, lambda: None)
    try:
        while True:
            status = await asyncio.to_thread(_status, request, tx_hash)
            left = deadline - time.monotonic()
            if status.status in FINAL or left <= 0 or woken is None:
                return status
            # Woken as soon as the stream hub reads an item of this transaction; otherwise the chain
            # is asked again every second (a revert or a transaction of no indexed contract has none).
            try:
                await asyncio.wait_for(woken.wait(), timeout=min(left, 1.0))
            except TimeoutError:
                pass
            woken.clear()
    finally:
        forget()
