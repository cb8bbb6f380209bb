"""Engagements, reviews and disputes: ready-to-sign transactions, documents to IPFS, read-model views."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from sqlalchemy import func, insert, or_, select

from api.deps import (
    ChainDep,
    ClockDep,
    ConnDep,
    CurrentSession,
    DocumentQuota,
    SettingsDep,
    StoreDep,
    neutral_arbiter,
)
from api.documents import digest_hex, document_input, store_document
from api.models import (
    ERRORS,
    DeliverableIn,
    EngagementPrepare,
    EngagementPublic,
    EngagementsPublic,
    EvidenceIn,
    EvidenceList,
    EvidencePublic,
    PreparedWithDocument,
    ResolveIn,
    ReviewPrepare,
    ReviewPublic,
    ReviewsPublic,
    WithdrawIn,
)
from api.models import Address as AddressType
from api.pagination import CursorQuery, LimitQuery, cursor_keys, page_of
from api.queries import engagement_of, engagements_page
from api.skills import catalog
from chain.txbuilder import PreparedTx
from db.booking import bookings
from db.chain import engagements, reviews
from db.market import evidence
from ipfs import metadata as md
from ipfs.cid import digest_to_cid
from ipfs.errors import IpfsError
from ipfs.store import ContentStore

router = APIRouter(tags=["engagements"], responses=ERRORS)
ETH = "0x0000000000000000000000000000000000000000"
EngagementId = Annotated[int, Path(ge=1, lt=2**63)]
MAX_EVIDENCE_PER_PARTY = 20


_COMMENTS: dict[str, str] = {}  # digest -> text; content-addressed, so valid for any store


def _comment_from(store: ContentStore, digest: str) -> str | None:
    """A review comment's text by its digest, checked against it (found texts are cached: a document
    never changes; a missing one is asked again next time)."""
    if digest in _COMMENTS:
        return _COMMENTS[digest]
    cid = digest_to_cid(bytes.fromhex(digest[2:]))
    try:
        data = b"".join(store.cat(cid))
    except IpfsError:
        return None
    if hashlib.sha256(data).hexdigest() != digest[2:]:
        return None  # not the document the chain names
    try:
        text = json.loads(data).get("text")
    except (ValueError, AttributeError):
        return None
    if not isinstance(text, str):
        return None
    if len(_COMMENTS) < 100_000:
        _COMMENTS[digest] = text
    return text


def comment_text(store: ContentStore, digest: str) -> str | None:
    if not digest or int(digest, 16) == 0:
        return None
    return _comment_from(store, digest.lower())


def _engagement(conn: ConnDep, chain: ChainDep, engagement_id: int) -> EngagementPublic:
    found = engagement_of(conn=conn, chain_id=chain.chain_id, engagement_id=engagement_id)
    if found is None:
        raise HTTPException(404, f"engagement {engagement_id} is not in the read model (yet)")
    return found


def _party(e: EngagementPublic, address: str, *roles: str) -> str:
    for role in roles:
        if getattr(e, role) == address:
            return role
    raise HTTPException(403, f"only the engagement's {' or '.join(roles)} may do this")


@router.post(
    "/engagements/prepare",
    response_model=PreparedWithDocument,
    summary="Terms to IPFS + createEngagement tx",
    dependencies=[DocumentQuota],
)
def prepare_engagement(
    body: EngagementPrepare,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
    settings: SettingsDep,
) -> PreparedWithDocument:
    if body.skill not in catalog():
        raise HTTPException(400, f"unknown skill {body.skill!r} (see GET /skills)")
    if body.provider == session.address:
        raise HTTPException(400, "the provider must be another wallet than the client")
    now = int(time.time())
    if any(m.due_date <= now for m in body.milestones):
        raise HTTPException(400, "every milestone's due date must be in the future")
    amounts = [int(m.amount) for m in body.milestones]
    if any(a == 0 or a >= 2**96 for a in amounts):  # the escrow stores amounts in 96 bits
        raise HTTPException(400, "milestone amounts must be between 1 and 2^96 - 1 base units")
    arbiter = neutral_arbiter(settings, chain, body.arbiter, (session.address, body.provider))
    with document_input():
        terms = _terms(body, session.address)
    digest = digest_hex(terms)
    token = ETH if body.token == "ETH" else body.token
    tx = chain.builder.build(
        "SkillEscrow",
        "createEngagement",
        [
            body.provider,
            token,
            amounts,
            [m.due_date for m in body.milestones],
            body.review_window,
            arbiter,
            digest,
        ],
        value=sum(amounts) if token == ETH else 0,
        description=f"Fund '{body.title}' ({len(amounts)} milestone(s))",
        sender=session.address,
        # A token payment's approval has not been sent yet: simulated as if it had.
        assume_allowance=None if token == ETH else token,
    )
    approval = (
        None if token == ETH else chain.builder.approval(token, session.address, "SkillEscrow", sum(amounts))
    )
    cid, digest = store_document(store, terms, conn=conn, kind="terms")
    return PreparedWithDocument(tx=tx, document_cid=cid, digest=digest, approval=approval)


def _terms(body: EngagementPrepare, client: str) -> md.EngagementTerms:
    return md.EngagementTerms(
        title=body.title,
        description=body.description,
        skill=body.skill,
        client=client,
        provider=body.provider,
        milestones=[md.MilestoneTerms(title=m.title, description=m.description) for m in body.milestones],
        nonce="0x" + os.urandom(32).hex(),
    )


@router.get("/engagements/{engagement_id:int}", response_model=EngagementPublic, responses={404: {}})
def get_engagement(engagement_id: EngagementId, conn: ConnDep, chain: ChainDep) -> EngagementPublic:
    return _engagement(conn, chain, engagement_id)


@router.get("/me/engagements", response_model=EngagementsPublic)
def my_engagements(
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> EngagementsPublic:
    me = session.address
    clause = or_(engagements.c.client == me, engagements.c.provider == me, engagements.c.payer == me)
    return engagements_page(conn=conn, chain_id=chain.chain_id, clause=clause, limit=limit, cursor=cursor)


@router.post(
    "/engagements/{engagement_id:int}/milestones/{index}/submit",
    response_model=PreparedWithDocument,
    dependencies=[DocumentQuota],
)
def prepare_submit(
    engagement_id: EngagementId,
    index: Annotated[int, Path(ge=0, le=15)],
    body: DeliverableIn,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
) -> PreparedWithDocument:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "provider")
    if index >= len(e.milestones):
        raise HTTPException(
            404, f"engagement {engagement_id} has no milestone at index {index} (the first is index 0)"
        )
    with document_input():
        doc = md.Deliverable(
            chainId=chain.chain_id,
            engagementId=engagement_id,
            milestoneIndex=index,
            summary=body.summary,
            files=body.files,
        )
    tx = chain.builder.build(
        "SkillEscrow",
        "submitMilestone",
        [engagement_id, index, digest_hex(doc)],
        description=f"Submit milestone {index + 1} of engagement {engagement_id}",  # people count from 1
        sender=session.address,
    )
    cid, digest = store_document(store, doc, conn=conn, kind="deliverable")
    return PreparedWithDocument(tx=tx, document_cid=cid, digest=digest)


@router.post("/engagements/{engagement_id:int}/milestones/{index}/approve", response_model=PreparedTx)
def prepare_approve(
    engagement_id: EngagementId,
    index: Annotated[int, Path(ge=0, le=15)],
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
) -> PreparedTx:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "client")
    if index >= len(e.milestones):
        raise HTTPException(
            404, f"engagement {engagement_id} has no milestone at index {index} (the first is index 0)"
        )
    return chain.builder.build(
        "SkillEscrow",
        "approveMilestone",
        [engagement_id, index],
        description=f"Release milestone {index + 1} of engagement {engagement_id}",
        sender=session.address,
    )


@router.post(
    "/engagements/{engagement_id:int}/milestones/{index}/release",
    response_model=PreparedTx,
    summary="Anyone: release a submitted milestone whose review window is over (autoRelease)",
)
def prepare_auto_release(
    engagement_id: EngagementId,
    index: Annotated[int, Path(ge=0, le=15)],
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
) -> PreparedTx:
    """The client did not answer within the review window: the provider (or anyone) releases the
    milestone. Too early, frozen by a dispute or not submitted: refused with the contract's reason."""
    e = _engagement(conn, chain, engagement_id)
    if index >= len(e.milestones):
        raise HTTPException(
            404, f"engagement {engagement_id} has no milestone at index {index} (the first is index 0)"
        )
    return chain.builder.build(
        "SkillEscrow",
        "autoRelease",
        [engagement_id, index],
        description=f"Release milestone {index + 1} of engagement {engagement_id} (review window over)",
        sender=session.address,
    )


@router.post(
    "/engagements/{engagement_id:int}/accept",
    response_model=PreparedTx,
    summary="Provider: accept a funded request",
)
def prepare_accept(
    engagement_id: EngagementId, session: CurrentSession, conn: ConnDep, chain: ChainDep, clock: ClockDep
) -> PreparedTx:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "provider")
    if e.status != "requested":
        raise HTTPException(
            409, f"engagement {engagement_id} is not waiting for acceptance (it is {e.status})"
        )
    now = int(clock())
    respond_by = conn.execute(
        select(bookings.c.respond_by)
        .join(engagements, engagements.c.terms_digest == bookings.c.terms_digest)
        .where(engagements.c.chain_id == chain.chain_id, engagements.c.id == engagement_id)
    ).scalar()
    if respond_by is not None and now >= respond_by:
        raise HTTPException(
            409,
            "this booking request went unanswered past its respond-by time and its slot was freed: "
            "decline it (the learner gets everything back)",
        )
    if any(m.due_date < now for m in e.milestones):
        raise HTTPException(409, "a due date of this request has passed: it can only be declined now")
    return chain.builder.build(
        "SkillEscrow",
        "acceptEngagement",
        [engagement_id],
        description=f"Accept engagement {engagement_id}",
        sender=session.address,
    )


@router.post(
    "/engagements/{engagement_id:int}/withdraw-request",
    response_model=PreparedTx,
    summary="Client or card payer: take back a request the provider has not accepted",
)
def prepare_withdraw_request(
    engagement_id: EngagementId, session: CurrentSession, conn: ConnDep, chain: ChainDep
) -> PreparedTx:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "client", "payer")
    if e.status != "requested":
        raise HTTPException(409, f"engagement {engagement_id} is not a pending request (it is {e.status})")
    return chain.builder.build(
        "SkillEscrow",
        "withdrawRequest",
        [engagement_id],
        description=f"Withdraw request {engagement_id}: everything back to the payer, no fee",
        sender=session.address,
    )


@router.post("/engagements/{engagement_id:int}/cancel", response_model=PreparedTx)
def prepare_cancel(
    engagement_id: EngagementId, session: CurrentSession, conn: ConnDep, chain: ChainDep
) -> PreparedTx:
    e = _engagement(conn, chain, engagement_id)
    role = _party(e, session.address, "client", "provider")
    if role == "client" and not e.accepted:
        raise HTTPException(409, "the provider has not accepted yet: withdraw the request instead")
    what = "Decline request" if role == "provider" and not e.accepted else "Cancel engagement"
    return chain.builder.build(
        "SkillEscrow",
        "cancel",
        [engagement_id],
        description=f"{what} {engagement_id} (refunds go to the payer)",
        sender=session.address,
    )


@router.post(
    "/engagements/{engagement_id:int}/dispute",
    response_model=PreparedWithDocument,
    dependencies=[DocumentQuota],
)
def prepare_dispute(
    engagement_id: EngagementId,
    body: EvidenceIn,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
) -> PreparedWithDocument:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "client", "provider")
    tx = chain.builder.build(
        "SkillEscrow",
        "raiseDispute",
        [engagement_id],
        description=f"Open a dispute on engagement {engagement_id}",
        sender=session.address,
    )
    cid = _add_evidence(conn, chain.chain_id, engagement_id, session.address, body, store).cid
    return PreparedWithDocument(tx=tx, document_cid=cid)


def _add_evidence(
    conn: ConnDep, chain_id: int, engagement_id: int, author: str, body: EvidenceIn, store: ContentStore
) -> EvidencePublic:
    with document_input():
        doc = md.Evidence(
            chainId=chain_id,
            engagementId=engagement_id,
            author=author,
            statement=body.statement,
            files=body.files,
        )
    cid, _digest = store_document(
        store, doc, conn=conn, kind="evidence", engagement=(chain_id, engagement_id)
    )
    created_at = int(time.time())
    result = conn.execute(
        insert(evidence).values(
            chain_id=chain_id, engagement_id=engagement_id, author=author, cid=cid, created_at=created_at
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # an autoincrement insert always reports its key
    return EvidencePublic(id=key[0], author=author, cid=cid, created_at=created_at)


@router.post(
    "/engagements/{engagement_id:int}/evidence",
    response_model=EvidencePublic,
    status_code=201,
    dependencies=[DocumentQuota],
)
def add_evidence(
    engagement_id: EngagementId,
    body: EvidenceIn,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    store: StoreDep,
) -> EvidencePublic:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "client", "provider")
    # Evidence is for the arbiter of an open dispute; anything else would be storage for free.
    if e.status != "disputed":
        raise HTTPException(409, f"engagement {engagement_id} has no open dispute to add evidence to")
    count = conn.execute(
        select(func.count())
        .select_from(evidence)
        .where(
            evidence.c.chain_id == chain.chain_id,
            evidence.c.engagement_id == engagement_id,
            evidence.c.author == session.address,
        )
    ).scalar_one()
    if count >= MAX_EVIDENCE_PER_PARTY:
        raise HTTPException(409, f"at most {MAX_EVIDENCE_PER_PARTY} evidence documents per party and dispute")
    return _add_evidence(conn, chain.chain_id, engagement_id, session.address, body, store)


@router.get("/engagements/{engagement_id:int}/evidence", response_model=EvidenceList)
def list_evidence(
    engagement_id: EngagementId,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> EvidenceList:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "client", "provider", "arbiter")
    mine = (evidence.c.chain_id == chain.chain_id) & (evidence.c.engagement_id == engagement_id)
    after = cursor_keys(cursor, 1)
    rows = conn.execute(
        select(evidence)
        .where(mine, evidence.c.id > (after[0] if after else 0))
        .order_by(evidence.c.id)
        .limit(limit + 1)
    ).mappings()
    items = [
        EvidencePublic(id=r["id"], author=r["author"], cid=r["cid"], created_at=r["created_at"]) for r in rows
    ]
    data, next_cursor = page_of(items, limit, lambda r: (r.id,))
    total = conn.execute(select(func.count()).select_from(evidence).where(mine)).scalar_one()
    return EvidenceList(data=data, next_cursor=next_cursor, total=int(total))


@router.get(
    "/arbiter/queue", response_model=EngagementsPublic, summary="Open disputes naming the signed-in arbiter"
)
def arbiter_queue(
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> EngagementsPublic:
    clause = (engagements.c.arbiter == session.address) & (engagements.c.status == "disputed")
    return engagements_page(conn=conn, chain_id=chain.chain_id, clause=clause, limit=limit, cursor=cursor)


@router.post("/engagements/{engagement_id:int}/resolve", response_model=PreparedTx)
def prepare_resolve(
    engagement_id: EngagementId, body: ResolveIn, session: CurrentSession, conn: ConnDep, chain: ChainDep
) -> PreparedTx:
    e = _engagement(conn, chain, engagement_id)
    _party(e, session.address, "arbiter")
    if e.status != "disputed":
        raise HTTPException(409, f"engagement {engagement_id} has no open dispute")
    return chain.builder.build(
        "SkillEscrow",
        "resolveDispute",
        [engagement_id, body.provider_share_bps],
        description=f"Resolve engagement {engagement_id}: {body.provider_share_bps / 100}% to the provider",
        sender=session.address,
    )


@router.post("/withdraw", response_model=PreparedTx, summary="Withdraw what the escrow owes you")
def prepare_withdraw(body: WithdrawIn, session: CurrentSession, chain: ChainDep) -> PreparedTx:
    token = ETH if body.token == "ETH" else body.token
    if body.to is not None and body.to != session.address:
        if int(body.to, 16) == 0:
            raise HTTPException(400, "to: the zero address would burn the money; give a real address")
        return chain.builder.build(
            "SkillEscrow",
            "withdrawTo",
            [token, body.to],
            description=f"Withdraw your balance to {body.to}",
            sender=session.address,
        )
    return chain.builder.build(
        "SkillEscrow", "withdraw", [token], description="Withdraw your balance", sender=session.address
    )


@router.post(
    "/reviews/prepare",
    response_model=PreparedWithDocument,
    summary="Comment to IPFS + review tx",
    dependencies=[DocumentQuota],
)
def prepare_review(
    body: ReviewPrepare, session: CurrentSession, conn: ConnDep, chain: ChainDep, store: StoreDep
) -> PreparedWithDocument:
    e = _engagement(conn, chain, body.engagement_id)
    _party(e, session.address, "client", "provider")
    if e.status != "settled":
        raise HTTPException(409, "only a settled engagement can be reviewed")
    cid, digest = None, "0x" + "00" * 32
    if body.comment:
        with document_input():
            doc = md.ReviewComment(
                chainId=chain.chain_id,
                engagementId=body.engagement_id,
                reviewer=session.address,
                text=body.comment,
            )
        digest = digest_hex(doc)
    tx = chain.builder.build(
        "Reputation",
        "review",
        [body.engagement_id, body.rating, digest],
        description=f"Review engagement {body.engagement_id}: {body.rating}/5",
        sender=session.address,
    )
    if body.comment:
        cid, digest = store_document(store, doc, conn=conn, kind="comment")
    return PreparedWithDocument(tx=tx, document_cid=cid, digest=digest)


@router.get(
    "/users/{address}/reviews",
    response_model=ReviewsPublic,
    summary="Reviews received, two averages labelled",
)
def user_reviews(
    address: Annotated[AddressType, Path()],
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> ReviewsPublic:
    theirs = (reviews.c.chain_id == settings.chain_id) & (reviews.c.subject == address)
    before = cursor_keys(cursor, 1)
    # One review of a subject per engagement (by the other party), so the engagement id is a key.
    query = select(reviews).where(theirs)
    if before:
        query = query.where(reviews.c.engagement_id < before[0])
    fetched = conn.execute(query.order_by(reviews.c.engagement_id.desc()).limit(limit + 1)).mappings().all()
    rows, next_cursor = page_of(list(fetched), limit, lambda r: (int(r["engagement_id"]),))
    total = conn.execute(select(func.count()).select_from(reviews).where(theirs)).scalar_one()
    all_ratings = (
        conn.execute(
            select(reviews.c.rating).where(
                reviews.c.chain_id == settings.chain_id,
                reviews.c.subject == address,
                reviews.c.role == "provider",
            )
        )
        .scalars()
        .all()
    )
    average = round(sum(all_ratings) / len(all_ratings), 3) if all_ratings else None
    # Flags come from the last `skillchain matching train` (computed there, not per request); before
    # the first training nothing is discounted and both averages are equal.
    from api.routes.matching import snapshot

    model = snapshot(request, settings)
    flagged = model.flagged if model is not None else set()
    kept = conn.execute(
        select(reviews.c.rating, reviews.c.engagement_id, reviews.c.reviewer).where(
            reviews.c.chain_id == settings.chain_id,
            reviews.c.subject == address,
            reviews.c.role == "provider",
        )
    ).all()
    honest = [r.rating for r in kept if (r.engagement_id, r.reviewer) not in flagged]
    fair = round(sum(honest) / len(honest), 3) if honest else None
    data = [
        ReviewPublic(
            engagement_id=r["engagement_id"],
            reviewer=r["reviewer"],
            subject=r["subject"],
            role=r["role"],
            rating=r["rating"],
            comment_digest=r["comment_digest"],
            comment=comment_text(request.app.state.store, r["comment_digest"]),
            flagged=(r["engagement_id"], r["reviewer"]) in flagged,
        )
        for r in rows
    ]
    return ReviewsPublic(
        data=data,
        next_cursor=next_cursor,
        total=int(total),
        onchain_average=average,
        fraud_discounted_average=fair,
    )
