"""The marketplace as the matching code sees it: plain records, loaded from the database (db/),
never through the API."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from db.chain import credentials, engagements, reviews
from db.market import listings, profiles


@dataclass(frozen=True)
class Engagement:
    id: int
    client: str
    provider: str
    payer: str
    amount: int
    paid: bool
    disputed: bool
    created_block: int


@dataclass(frozen=True)
class Review:
    engagement_id: int
    reviewer: str
    subject: str
    role: str  # the subject's role: provider or client
    rating: int
    block: int


@dataclass(frozen=True)
class Listing:
    id: int
    owner: str
    skill: str
    title: str
    description: str
    price: float
    languages: tuple[str, ...]
    timezone: str | None


@dataclass(frozen=True)
class Credential:
    holder: str
    skill_id: str
    issued_at: int


@dataclass
class Marketplace:
    engagements: list[Engagement] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    listings: list[Listing] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)
    profile_skills: dict[str, list[str]] = field(default_factory=dict)
    relayers: set[str] = field(default_factory=set)  # payers that are the card relayer, not a "source"


def load(engine: Engine, chain_id: int, relayers: set[str] | None = None) -> Marketplace:
    m = Marketplace(relayers=relayers or set())
    with engine.connect() as conn:
        for r in conn.execute(select(engagements).where(engagements.c.chain_id == chain_id)).mappings():
            m.engagements.append(
                Engagement(
                    r["id"],
                    r["client"],
                    r["provider"],
                    r["payer"],
                    int(r["total_amount"]),
                    bool(r["paid"]),
                    r["status"] == "disputed" or r["disputed_at"] is not None,
                    r["created_block"],
                )
            )
        for r in conn.execute(select(reviews).where(reviews.c.chain_id == chain_id)).mappings():
            m.reviews.append(
                Review(
                    r["engagement_id"], r["reviewer"], r["subject"], r["role"], r["rating"], r["block_number"]
                )
            )
        for r in conn.execute(select(listings).where(listings.c.active.is_(True))).mappings():
            m.listings.append(
                Listing(
                    r["id"],
                    r["owner"],
                    r["skill"],
                    r["title"],
                    r["description"],
                    float(r["price"]),
                    tuple(json.loads(r["languages"])),
                    r["timezone"],
                )
            )
        for r in conn.execute(
            select(credentials).where(credentials.c.chain_id == chain_id, credentials.c.burned.is_(False))
        ).mappings():
            m.credentials.append(Credential(r["holder"], r["skill_id"], r["issued_at"]))
        for r in conn.execute(select(profiles.c.address, profiles.c.skills)).mappings():
            m.profile_skills[r["address"]] = json.loads(r["skills"])
    return m
