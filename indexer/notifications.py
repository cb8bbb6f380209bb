"""Which indexed events notify whom: each step of an engagement notifies the party it is waiting on
or that it concerns (never the one who acted), a review its subject, a credential its holder. Rows
and their live-stream items are written in the indexer's transaction for those events."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select

from bus.outbox import OutboxItem
from db import notifications as notifications_table
from db.chain import engagements
from indexer.decode import DecodedEvent

ZERO = "0x" + "00" * 20


def _parties(conn: Connection, chain_id: int, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = conn.execute(
        select(engagements.c.id, engagements.c.client, engagements.c.provider, engagements.c.arbiter).where(
            engagements.c.chain_id == chain_id, engagements.c.id.in_(ids)
        )
    )
    return {int(r.id): r for r in rows}


def _recipients(e: DecodedEvent, p: Any, instant: set[int]) -> list[tuple[str, str]]:
    """(address, kind) pairs this event notifies."""
    a = e.args
    if e.contract == "SkillEscrow" and p is not None:
        by = a.get("by")
        match e.name:
            case "EngagementCreated":
                return [(p.provider, "booked" if int(a["id"]) in instant else "request_received")]
            case "EngagementAccepted":
                return [(p.client, "request_accepted")]
            case "RequestWithdrawn":
                return [(p.provider, "request_withdrawn")]
            case "EngagementCancelled":
                return [(p.client if by == p.provider else p.provider, "engagement_cancelled")]
            case "MilestoneSubmitted":
                return [(p.client, "milestone_submitted")]
            case "MilestoneReleased":
                return [(p.provider, "milestone_released")]
            case "DisputeRaised":
                other = p.provider if by == p.client else p.client
                return [(other, "dispute_raised"), (p.arbiter, "dispute_raised")]
            case "DisputeResolved":
                return [(p.client, "dispute_resolved"), (p.provider, "dispute_resolved")]
    if e.contract == "Reputation" and e.name == "ReviewSubmitted":
        return [(a["subject"], "review_received")]
    if e.contract == "SkillCredential" and e.name == "CredentialIssued":
        return [(a["holder"], "credential_issued")]
    return []


def notification_items(
    conn: Connection, chain_id: int, events: list[DecodedEvent], *, live: bool = True
) -> list[OutboxItem]:
    """Insert the notifications of `events` and return their stream items (in the caller's
    transaction, after the projections were applied: the parties are known). Not `live` (a catch-up
    over history older than the stream's backfill): the rows are written already read, with no
    stream item — the record is complete, nobody is flooded with old news."""
    if not events:
        return []
    ids = {
        int(e.args["id"] if e.contract == "SkillEscrow" else e.args.get("engagementId", 0))
        for e in events
        if e.contract in ("SkillEscrow", "Reputation")
        and isinstance(e.args.get("id", e.args.get("engagementId")), int)
    }
    parties = _parties(conn, chain_id, ids - {0})
    instant = {int(e.args["id"]) for e in events if e.name == "OfferUsed"}  # funded from a signed offer
    now = int(time.time())
    items = []
    for e in events:
        engagement = e.args.get("id") if e.contract == "SkillEscrow" else e.args.get("engagementId")
        eid = int(engagement) if isinstance(engagement, int) and engagement > 0 else None
        for address, kind in _recipients(e, parties.get(eid or 0), instant):
            if address in (ZERO, e.args.get("by")):
                continue
            payload = {
                "kind": kind,
                "engagement_id": eid,
                "milestone": e.args.get("index"),
                "token_id": str(e.args["tokenId"]) if "tokenId" in e.args else None,
                "by": e.args.get("by") or e.args.get("reviewer") or e.args.get("issuer"),
                "tx": e.tx_hash,
            }
            nid = notifications_table.add(
                conn,
                address,
                payload,
                now=now,
                chain_id=chain_id,
                engagement_id=eid,
                block_number=e.block_number,
                read=not live,
            )
            if not live:
                continue
            items.append(
                OutboxItem(
                    kind="notification",
                    audience=frozenset({address}),
                    payload={"id": int(nid), **payload, "created_at": now},
                    chain_id=chain_id,
                    block_number=e.block_number,  # a reorg retracts it like the event
                )
            )
    return items
