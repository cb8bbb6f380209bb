"""Operations: readiness (what is missing), Prometheus metrics, admin overview."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text

from api.deps import AdminSession, ConnDep, SettingsDep
from api.models import ERRORS
from api.observability import INDEXER_LAG, PAYMENT_JOBS
from chain.localchain import rpc_call
from chain.records import load_record, record_path
from db.chain import credentials, engagements, indexer_checkpoints
from db.market import listings, profiles
from db.payments import payment_jobs

router = APIRouter(tags=["ops"], responses=ERRORS)
log = logging.getLogger("skillchain.api")


class ReadyPublic(BaseModel):
    ready: bool
    missing: list[str]
    chain_id: int
    indexed_block: int | None
    chain_head: int | None = None
    indexer_lag_blocks: int | None = Field(None, description="chain head minus the read model's block")
    bus: str = Field("", description="what wakes this replica's live streams")
    bus_healthy: bool = True
    stream_subscribers: int = 0


@router.get("/ready", response_model=ReadyPublic, responses={503: {"model": ReadyPublic}})
def ready(request: Request, settings: SettingsDep) -> JSONResponse:
    missing = []
    indexed = None
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            indexed = conn.execute(
                select(indexer_checkpoints.c.block_number).where(
                    indexer_checkpoints.c.chain_id == settings.chain_id
                )
            ).scalar()
    except Exception:  # noqa: BLE001 - readiness reports any database failure as "database"
        missing.append("database")
    head = None
    try:
        head = int(str(rpc_call(settings.effective_rpc_url, "eth_blockNumber", timeout=2.0)), 16)
    except Exception:  # noqa: BLE001 - any RPC failure means "chain"
        missing.append("chain")
    hub = request.app.state.hub.stats()
    if not hub.bus_healthy:
        missing.append("bus")
    path = record_path(
        settings.chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir
    )
    if load_record(path) is None:
        missing.append("deployments")
    lag = head - indexed if head is not None and indexed is not None else None
    INDEXER_LAG.set(lag if lag is not None else -1)
    body = ReadyPublic(
        ready=not missing,
        missing=missing,
        chain_id=settings.chain_id,
        indexed_block=indexed,
        chain_head=head,
        indexer_lag_blocks=lag,
        bus=hub.bus,
        bus_healthy=hub.bus_healthy,
        stream_subscribers=hub.subscribers,
    )
    return JSONResponse(body.model_dump(), status_code=200 if not missing else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, settings: SettingsDep) -> Response:
    """Requests (count, latency by route), streams, bus lag, indexer lag and payment jobs; the last
    two are read at scrape time (the indexer and the payment worker may be other processes)."""
    try:
        with request.app.state.engine.connect() as conn:
            indexed = conn.execute(
                select(indexer_checkpoints.c.block_number).where(
                    indexer_checkpoints.c.chain_id == settings.chain_id
                )
            ).scalar()
            counted = select(payment_jobs.c.status, func.count()).group_by(payment_jobs.c.status)
            jobs = {str(status): int(n) for status, n in conn.execute(counted).all()}
        for status in ("pending", "sending", "sent", "done", "failed"):
            PAYMENT_JOBS.labels(status).set(jobs.get(status, 0))
        head = int(str(rpc_call(settings.effective_rpc_url, "eth_blockNumber", timeout=2.0)), 16)
        INDEXER_LAG.set(head - indexed if indexed is not None else -1)
    except Exception as exc:  # noqa: BLE001 - metrics answer whatever they can; /ready says what is missing
        log.debug("scrape-time metrics unavailable: %s", exc)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class StatsPublic(BaseModel):
    profiles: int
    listings: int
    engagements: int
    credentials: int


@router.get("/admin/stats", response_model=StatsPublic, tags=["admin"])
def admin_stats(_admin: AdminSession, conn: ConnDep) -> StatsPublic:
    def count(table: object) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]

    return StatsPublic(
        profiles=count(profiles),
        listings=count(listings),
        engagements=count(engagements),
        credentials=count(credentials),
    )
