"""Read-model and marketplace queries used by several routes (keyword-only, return X | None)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from api.models import (
    CredentialSummary,
    EngagementPublic,
    EngagementsPublic,
    MilestonePublic,
    ProfilePublic,
    ReputationPublic,
)
from api.pagination import cursor_keys, page_of
from api.skills import by_id
from db.booking import bookings
from db.chain import credentials, engagements, milestones, reputation, reviews
from db.documents import stored_documents
from db.market import profiles


def profile_of(*, conn: Connection, address: str) -> ProfilePublic | None:
    row = conn.execute(select(profiles).where(profiles.c.address == address)).mappings().first()
    if row is None:
        return None
    return ProfilePublic(
        address=row["address"],
        display_name=row["display_name"],
        bio=row["bio"],
        skills=json.loads(row["skills"]),
        hourly_rate=row["hourly_rate"],
        languages=json.loads(row["languages"]),
        timezone=row["timezone"],
        avatar_cid=row["avatar_cid"],
    )


def reputation_of(*, conn: Connection, chain_id: int, address: str) -> ReputationPublic:
    row = (
        conn.execute(
            select(reputation).where(reputation.c.chain_id == chain_id, reputation.c.subject == address)
        )
        .mappings()
        .first()
    )
    if row is None:
        return ReputationPublic(
            as_provider_count=0, as_provider_average=None, as_client_count=0, as_client_average=None
        )
    pc, ps, cc, cs = row["provider_count"], row["provider_sum"], row["client_count"], row["client_sum"]
    return ReputationPublic(
        as_provider_count=pc,
        as_provider_average=round(ps / pc, 3) if pc else None,
        as_client_count=cc,
        as_client_average=round(cs / cc, 3) if cc else None,
    )


def credentials_of(*, conn: Connection, chain_id: int, holder: str) -> list[CredentialSummary]:
    skills = by_id()
    rows = conn.execute(
        select(credentials)
        .where(
            credentials.c.chain_id == chain_id,
            credentials.c.holder == holder,
            credentials.c.burned.is_(False),
        )
        .order_by(credentials.c.issued_at)
    ).mappings()
    return [
        CredentialSummary(
            chain_id=r["chain_id"],
            token_id=r["token_id"],
            issuer=r["issuer"],
            skill_id=r["skill_id"],
            skill=skills[r["skill_id"]].slug if r["skill_id"] in skills else None,
            issued_at=r["issued_at"],
            expires_at=r["expires_at"],
            revoked=r["revoked"],
        )
        for r in rows
    ]


def engagement_of(*, conn: Connection, chain_id: int, engagement_id: int) -> EngagementPublic | None:
    row = (
        conn.execute(
            select(engagements).where(engagements.c.chain_id == chain_id, engagements.c.id == engagement_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    ms = list(
        conn.execute(
            select(milestones)
            .where(milestones.c.chain_id == chain_id, milestones.c.engagement_id == engagement_id)
            .order_by(milestones.c.idx)
        ).mappings()
    )
    # The documents behind the digests, where this API stored them: the page shows the terms' title
    # and each deliverable's summary (content-addressed, so the CID proves the digest's document).
    digests = {row["terms_digest"], *(m["deliverable_digest"] for m in ms if m["deliverable_digest"])}
    cids = {
        r.digest: r.cid
        for r in conn.execute(
            select(stored_documents.c.digest, stored_documents.c.cid).where(
                stored_documents.c.digest.in_(digests), stored_documents.c.kind.in_(("terms", "deliverable"))
            )
        )
    }
    found = _engagement(row, ms, cids)
    booking = conn.execute(
        select(bookings.c.id, bookings.c.starts_at)
        .where(
            or_(
                and_(bookings.c.mode == "instant", bookings.c.id == row["booking_ref"]),
                and_(bookings.c.mode != "instant", bookings.c.terms_digest == row["terms_digest"]),
            ),
            bookings.c.learner == row["client"],
            bookings.c.mentor == row["provider"],
        )
        .limit(1)
    ).first()
    if booking is not None:
        found.booking_id, found.session_starts_at = booking.id, int(booking.starts_at)
    found.reviewed_by = list(
        conn.execute(
            select(reviews.c.reviewer).where(
                reviews.c.chain_id == chain_id, reviews.c.engagement_id == engagement_id
            )
        ).scalars()
    )
    return found


def _engagement(row: Any, ms: list[Any], cids: dict[str, str] | None = None) -> EngagementPublic:
    cids = cids or {}
    return EngagementPublic(
        chain_id=row["chain_id"],
        id=row["id"],
        client=row["client"],
        provider=row["provider"],
        payer=row["payer"],
        token=row["token"],
        arbiter=row["arbiter"],
        fee_bps=row["fee_bps"],
        review_window=row["review_window"],
        terms_digest=row["terms_digest"],
        terms_cid=cids.get(row["terms_digest"]),
        total_amount=str(row["total_amount"]),
        status=row["status"],
        accepted=row["accepted"],
        offer_nonce=None if row["offer_nonce"] is None else str(row["offer_nonce"]),
        booking_ref=row["booking_ref"],
        starts_at=row["starts_at"],
        paid=row["paid"],
        disputed_at=row["disputed_at"],
        milestones=[
            MilestonePublic(
                index=m["idx"],
                amount=str(m["amount"]),
                due_date=m["due_date"],
                releasable_at=m["releasable_at"],
                state=m["state"],
                deliverable_digest=m["deliverable_digest"],
                frozen=m["frozen"],
                provider_share_bps=m["provider_share_bps"],
                deliverable_cid=cids.get(m["deliverable_digest"]) if m["deliverable_digest"] else None,
            )
            for m in ms
        ],
    )


def engagements_page(
    *, conn: Connection, chain_id: int, clause: Any, limit: int, cursor: str | None
) -> EngagementsPublic:
    """Keyset pagination, newest first: the cursor is the last id of the previous page."""
    where = [engagements.c.chain_id == chain_id, clause]
    after = cursor_keys(cursor, 1)
    if after:
        where.append(engagements.c.id < after[0])
    rows = engagements_where(conn=conn, chain_id=chain_id, clause=and_(*where), limit=limit + 1)
    total = conn.execute(
        select(func.count()).select_from(engagements).where(engagements.c.chain_id == chain_id, clause)
    ).scalar_one()
    data, next_cursor = page_of(rows, limit, lambda e: (e.id,))
    return EngagementsPublic(data=data, next_cursor=next_cursor, total=int(total))


def engagements_where(*, conn: Connection, chain_id: int, clause: Any, limit: int) -> list[EngagementPublic]:
    rows = (
        conn.execute(
            select(engagements)
            .where(engagements.c.chain_id == chain_id, clause)
            .order_by(engagements.c.id.desc())
            .limit(limit)
        )
        .mappings()
        .all()
    )
    out = []
    for row in rows:
        ms = conn.execute(
            select(milestones)
            .where(milestones.c.chain_id == chain_id, milestones.c.engagement_id == row["id"])
            .order_by(milestones.c.idx)
        ).mappings()
        out.append(_engagement(row, list(ms)))
    return out
