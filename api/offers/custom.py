"""Custom offers for one learner, knowing no HTTP: stored drafts, the mentor's signature, and where
an offer stands — read from the indexed chain (funded: an engagement from its provider's nonce),
the clock (expired) and the mentor's withdrawal (cancelled)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from api.offers import service
from api.offers.schemas import CustomOfferPublic, CustomOfferState, OfferFields
from db.booking import custom_offers
from db.chain import engagements


def create(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    new = conn.execute(insert(custom_offers).values(**row).returning(custom_offers.c.id)).scalar_one()
    return row | {"id": int(new)}


def load(conn: Connection, offer_id: int, viewer: str) -> dict[str, Any] | None:
    """The offer if `viewer` is one of its two parties (None otherwise: nobody else learns it exists)."""
    row = conn.execute(select(custom_offers).where(custom_offers.c.id == offer_id)).mappings().first()
    if row is None or viewer not in (row["provider"], row["client"]):
        return None
    return dict(row)


def mine(conn: Connection, address: str) -> Any:
    return select(custom_offers).where(
        or_(custom_offers.c.provider == address, custom_offers.c.client == address)
    )


def engagement_of(conn: Connection, row: dict[str, Any]) -> int | None:
    """The engagement the offer funded: its provider's nonce, and its client (the offer names one)."""
    found = conn.execute(
        select(engagements.c.id)
        .where(
            engagements.c.offer_nonce == int(row["nonce"]),
            engagements.c.provider == row["provider"],
            engagements.c.client == row["client"],
        )
        .order_by(engagements.c.id)
    ).scalar()
    return int(found) if found is not None else None


def state_of(conn: Connection, row: dict[str, Any], now: int) -> tuple[CustomOfferState, int | None]:
    engagement = engagement_of(conn, row)
    if engagement is not None:  # funded wins: a cancel or expiry after it changes nothing on-chain
        return "funded", engagement
    if row["status"] == "cancelled":
        return "cancelled", None
    if now >= int(row["valid_until"]):
        return "expired", None
    return ("open" if row["status"] == "open" else "draft"), None


def sign(conn: Connection, offer_id: int, signature: str) -> None:
    conn.execute(
        update(custom_offers)
        .where(custom_offers.c.id == offer_id, custom_offers.c.status == "draft")
        .values(signature=signature, status="open")
    )


def cancel(conn: Connection, offer_id: int, now: int) -> None:
    conn.execute(
        update(custom_offers)
        .where(custom_offers.c.id == offer_id)
        .values(status="cancelled", cancelled_at=now)
    )


def public(
    conn: Connection, row: dict[str, Any], *, chain_id: int, escrow: str, now: int
) -> CustomOfferPublic:
    fields = OfferFields.model_validate_json(row["offer"])
    state, engagement = state_of(conn, row, now)
    return CustomOfferPublic(
        id=row["id"],
        provider=row["provider"],
        client=row["client"],
        listing_id=row["listing_id"],
        title=row["title"],
        currency=row["currency"],
        prices=json.loads(row["prices"]),
        offer=fields,
        typed_data=service.typed_data_json(chain_id, escrow, service.to_offer(fields)),
        document_cid=row["document_cid"],
        signature=row["signature"],
        state=state,
        valid_until=int(row["valid_until"]),
        created_at=int(row["created_at"]),
        engagement_id=engagement,
    )
