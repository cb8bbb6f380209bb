"""Operations: readiness (what is missing), Prometheus metrics, admin overview."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import func, select, text

from api.deps import AdminSession, ConnDep, SettingsDep
from api.models import ERRORS
from chain.localchain import rpc_call
from chain.records import load_record, record_path
from db.chain import credentials, engagements, indexer_checkpoints
from db.market import listings, profiles

router = APIRouter(tags=["ops"], responses=ERRORS)


class ReadyPublic(BaseModel):
    ready: bool
    missing: list[str]
    chain_id: int
    indexed_block: int | None


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
    try:
        rpc_call(settings.effective_rpc_url, "eth_chainId", timeout=2.0)
    except Exception:  # noqa: BLE001 - any RPC failure means "chain"
        missing.append("chain")
    path = record_path(
        settings.chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir
    )
    if load_record(path) is None:
        missing.append("deployments")
    body = ReadyPublic(ready=not missing, missing=missing, chain_id=settings.chain_id, indexed_block=indexed)
    return JSONResponse(body.model_dump(), status_code=200 if not missing else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
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
