"""The skills catalog. A skill's id is keccak256 of its canonical slug — the id the contracts use."""

from __future__ import annotations

from functools import lru_cache

from eth_hash.auto import keccak
from pydantic import BaseModel

_CATALOG = {
    "Blockchain": [
        "solidity",
        "vyper",
        "smart-contract-security",
        "defi",
        "zero-knowledge-proofs",
        "ethereum-basics",
    ],
    "Software": ["python", "javascript", "typescript", "react", "rust", "go", "sql", "devops", "testing"],
    "Data": ["data-analysis", "machine-learning", "statistics", "data-visualisation"],
    "Design": ["ui-design", "ux-research", "illustration", "3d-modelling"],
    "Languages": ["english", "spanish", "french", "german", "mandarin", "japanese"],
    "Business": ["product-management", "marketing", "public-speaking", "accounting", "negotiation"],
    "Music": ["guitar", "piano", "music-production", "singing"],
}


class Skill(BaseModel):
    slug: str
    name: str
    category: str
    id: str  # 0x-prefixed keccak256(slug)


def skill_id(slug: str) -> str:
    return "0x" + bytes(keccak(slug.encode())).hex()


@lru_cache(maxsize=1)
def catalog() -> dict[str, Skill]:
    return {
        slug: Skill(slug=slug, name=slug.replace("-", " ").title(), category=category, id=skill_id(slug))
        for category, slugs in _CATALOG.items()
        for slug in slugs
    }


def by_id() -> dict[str, Skill]:
    return {s.id: s for s in catalog().values()}
