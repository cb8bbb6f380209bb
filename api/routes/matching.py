"""Recommendations and career paths from the matching snapshot; risk signals for operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel

from api.deps import AdminSession, ConnDep, CurrentSession, SettingsDep
from api.models import ERRORS
from api.skills import by_id, catalog
from matching.recommend import Recommender
from matching.service import risk, snapshot_dir

router = APIRouter(tags=["matching"], responses=ERRORS)


class RecommendationPublic(BaseModel):
    listing_id: int
    owner: str
    score: float
    reasons: list[str]


class NextSkillPublic(BaseModel):
    skill_id: str
    skill: str | None
    share_of_holders: float
    holders: int


class RiskPublic(BaseModel):
    account: str
    score: float
    flagged: bool
    signals: dict[str, str]


def snapshot(request: Request, settings: SettingsDep) -> Recommender | None:
    """The trained snapshot, loaded once per training run (None before the first)."""
    meta = snapshot_dir(settings.data_dir) / "meta.json"
    if not meta.exists():
        return None
    cached = getattr(request.app.state, "matching", None)
    mtime = meta.stat().st_mtime
    if cached is None or cached[0] != mtime:
        request.app.state.matching = (mtime, Recommender.load(meta.parent))
    return request.app.state.matching[1]  # type: ignore[no-any-return]


def _model(request: Request, settings: SettingsDep) -> Recommender:
    model = snapshot(request, settings)
    if model is None:
        raise HTTPException(503, "no matching snapshot yet: run `skillchain matching train`")
    return model


@router.get(
    "/recommendations", response_model=list[RecommendationPublic], summary="Mentors and listings for you"
)
def recommendations(
    request: Request,
    session: CurrentSession,
    settings: SettingsDep,
    skills: Annotated[list[str] | None, Query(max_length=10)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    max_price: Annotated[float | None, Query(ge=0, le=1_000_000)] = None,
    language: Annotated[str | None, Query(pattern="^[a-z]{2}$")] = None,
    timezone: Annotated[
        str | None, Query(max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\\-]+)*$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[RecommendationPublic]:
    unknown = [s for s in skills or [] if s not in catalog()]
    if unknown:
        raise HTTPException(400, f"unknown skill(s): {', '.join(unknown)}")
    model = _model(request, settings)
    recs = model.recommend(
        learner=session.address,
        wants=skills or [],
        text=q,
        max_price=max_price,
        language=language,
        timezone=timezone,
        k=limit,
    )
    return [
        RecommendationPublic(
            listing_id=r.listing_id, owner=r.owner, score=round(r.score, 4), reasons=r.reasons
        )
        for r in recs
    ]


@router.get("/skills/{skill_id}/next", response_model=list[NextSkillPublic], summary="Skills to learn next")
def skills_next(
    request: Request, skill_id: Annotated[str, Path(pattern=r"^0x[0-9a-f]{64}$")], settings: SettingsDep
) -> list[NextSkillPublic]:
    """What holders of this skill's credential earned next, from the trained snapshot."""
    known = by_id()
    return [
        NextSkillPublic(
            skill_id=s,
            skill=known[s].slug if s in known else None,
            share_of_holders=round(share, 4),
            holders=count,
        )
        for s, share, count in _model(request, settings).next_skills(skill_id)
    ]


@router.get("/admin/risk", response_model=list[RiskPublic], tags=["admin"], summary="Fraud and sybil signals")
def admin_risk(_admin: AdminSession, conn: ConnDep, settings: SettingsDep) -> list[RiskPublic]:
    _market, reports = risk(conn.engine, settings.chain_id, set(settings.funders))
    return [
        RiskPublic(account=r.account, score=r.score, flagged=r.flagged, signals=r.signals)
        for r in sorted(reports.values(), key=lambda r: -r.score)
    ]
