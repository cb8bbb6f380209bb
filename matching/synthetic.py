"""A generated marketplace with planted structure — skill clusters, popular mentors, sybil rings,
reciprocal pairs and same-source funding — for tests and benchmarks of matching."""

from __future__ import annotations

import random
from dataclasses import dataclass

from matching.data import Credential, Engagement, Listing, Marketplace, Review

CLUSTERS = [
    ["solidity", "smart-contract-security", "defi"],
    ["python", "data-analysis", "machine-learning"],
    ["ui-design", "ux-research", "illustration"],
    ["guitar", "piano", "music-production"],
    ["spanish", "french", "german"],
]


@dataclass
class Planted:
    market: Marketplace
    sybils: set[str]
    held_out: dict[str, str]  # learner -> provider of their last engagement (not in `market`)
    cluster_of: dict[str, int]
    new_mentors: set[str]


def generate(
    *,
    learners: int = 400,
    mentors: int = 60,
    rings: int = 6,
    pairs: int = 4,
    same_source: int = 3,
    new_mentors: int = 8,
    seed: int = 1,
) -> Planted:
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not security
    m = Marketplace(relayers={"0xrelayer"})
    cluster_of: dict[str, int] = {}
    block = 0
    eid = 0
    mentor_ids = [f"0xmentor{i:03d}" for i in range(mentors)]
    new = {f"0xnewmentor{i:02d}" for i in range(new_mentors)}
    for i, mentor in enumerate([*mentor_ids, *sorted(new)]):
        c = i % len(CLUSTERS)
        cluster_of[mentor] = c
        for skill in rng.sample(CLUSTERS[c], 2):
            m.listings.append(
                Listing(
                    len(m.listings) + 1,
                    mentor,
                    skill,
                    f"{skill.replace('-', ' ')} lessons",
                    f"Learn {skill.replace('-', ' ')} with a patient mentor",
                    float(rng.randint(20, 120)),
                    ("en",) if rng.random() < 0.8 else ("en", "es"),
                    "Europe/Berlin",
                )
            )
    popularity = {mentor: rng.paretovariate(1.5) for mentor in mentor_ids}
    held_out: dict[str, str] = {}

    def engage(
        client: str,
        provider: str,
        payer: str | None = None,
        rating: int | None = None,
        back: int | None = None,
        disputed: bool = False,
    ) -> None:
        nonlocal eid, block
        eid += 1
        block += rng.randint(1, 20)
        m.engagements.append(
            Engagement(
                eid, client, provider, payer or client, rng.randint(10**6, 10**8), True, disputed, block
            )
        )
        if rating:
            m.reviews.append(Review(eid, client, provider, "provider", rating, block + 1))
        if back:
            m.reviews.append(Review(eid, provider, client, "client", back, block + 2))

    for j in range(learners):
        learner = f"0xlearner{j:04d}"
        c = j % len(CLUSTERS)
        cluster_of[learner] = c
        own = [x for x in mentor_ids if cluster_of[x] == c]
        weights = [popularity[x] for x in own]
        history = []
        for _ in range(rng.randint(3, 8)):
            pool, w = (
                (own, weights) if rng.random() < 0.85 else (mentor_ids, [popularity[x] for x in mentor_ids])
            )
            history.append(rng.choices(pool, weights=w)[0])
        *train, last = history
        held_out[learner] = last
        for provider in train:
            engage(learner, provider, rating=rng.choice([3, 4, 4, 5, 5]), back=rng.choice([4, 5]))
        for k, skill in enumerate(CLUSTERS[c]):
            if rng.random() < 0.7 - 0.2 * k:
                m.credentials.append(Credential(learner, skill, 1000 * (k + 1) + rng.randint(0, 500)))
    sybils: set[str] = set()
    for r in range(rings):
        members = [f"0xring{r:02d}x{i}" for i in range(rng.choice([3, 4]))]
        sybils.update(members)
        for _ in range(3):
            for a, b in zip(members, members[1:] + members[:1], strict=True):
                engage(a, b, rating=5, back=5)
    for p in range(pairs):
        a, b = f"0xpair{p:02d}a", f"0xpair{p:02d}b"
        sybils.update((a, b))
        engage(a, b, rating=5, back=5)
        engage(b, a, rating=5, back=5)
    for s in range(same_source):
        funder, x, y = f"0xfunder{s:02d}", f"0xsame{s:02d}x", f"0xsame{s:02d}y"
        sybils.update((x, y))
        engage(x, y, payer=funder, rating=5)
        engage(y, f"0xmentor{s:03d}", payer=funder, rating=5)
    # honest card-relayer payments must not look like a shared source
    for t in range(5):
        engage(f"0xlearner{t:04d}", mentor_ids[t], payer="0xrelayer", rating=4)
        engage(mentor_ids[t], f"0xlearner{t + 10:04d}", payer="0xrelayer", rating=4)
    return Planted(m, sybils, held_out, cluster_of, new)
