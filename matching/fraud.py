"""Fraud and sybil signals per account, each with its reasons.

- reciprocal: two accounts that paid each other (each was client and provider of the other) and
  reviewed each other;
- ring: a small cycle (3-4 accounts) in the who-paid-whom graph whose members' reviews come mostly
  from inside the cycle;
- same source: one payer (other than the card relayer) funded engagements on both sides — paying for
  an account and for that account's own provider;
- review burst: many reviews received within a short span of blocks;
- dispute rate: a high share of the account's engagements ended in dispute.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from matching.data import Marketplace

SEVERE = {"reciprocal", "ring", "same_source"}


@dataclass
class RiskReport:
    account: str
    score: float
    signals: dict[str, str] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return bool(SEVERE & self.signals.keys())


def signals(
    m: Marketplace,
    *,
    burst_window: int = 50,
    burst_size: int = 5,
    dispute_threshold: float = 0.5,
    ring_inside_share: float = 0.8,
) -> dict[str, RiskReport]:
    reports: dict[str, RiskReport] = {}

    def flag(account: str, kind: str, reason: str, weight: float) -> None:
        report = reports.setdefault(account, RiskReport(account, 0.0))
        if kind not in report.signals:
            report.signals[kind] = reason
            report.score += weight

    paid: dict[str, set[str]] = defaultdict(set)  # client -> providers they paid
    for e in m.engagements:
        if e.paid:
            paid[e.client].add(e.provider)
    reviewed: dict[str, set[str]] = defaultdict(set)
    reviewers_of: dict[str, list[str]] = defaultdict(list)
    for r in m.reviews:
        reviewed[r.reviewer].add(r.subject)
        reviewers_of[r.subject].append(r.reviewer)

    # reciprocal payments with reviews both ways
    for a, providers in paid.items():
        for b in providers:
            if a < b and a in paid.get(b, set()) and b in reviewed[a] and a in reviewed[b]:
                for x, y in ((a, b), (b, a)):
                    flag(x, "reciprocal", f"paid and was paid by {y}, and both reviewed each other", 3.0)

    # small rings: cycles of length 3-4 in the payment graph, reviewed mostly from within
    for start in paid:
        for b in paid[start]:
            for c in paid.get(b, ()):
                if c == start:
                    continue
                for d in paid.get(c, ()):
                    cycle: tuple[str, ...] | None = None
                    if d == start and len({start, b, c}) == 3:
                        cycle = (start, b, c)
                    elif d not in (start, b) and start in paid.get(d, ()) and len({start, b, c, d}) == 4:
                        cycle = (start, b, c, d)
                    if cycle is None:
                        continue
                    members = set(cycle)
                    inside = [sum(1 for rv in reviewers_of[x] if rv in members) for x in members]
                    total = [len(reviewers_of[x]) for x in members]
                    if sum(total) and sum(inside) / sum(total) >= ring_inside_share:
                        for x in members:
                            others = ", ".join(sorted(members - {x}))
                            reason = f"{len(members)}-account payment cycle with {others}, reviewed inside it"
                            flag(x, "ring", reason, 3.0)

    # same source: a payer (not the relayer) bankrolls both sides
    paid_for: dict[str, set[str]] = defaultdict(set)  # payer -> clients it paid for
    for e in m.engagements:
        if e.payer not in m.relayers:
            paid_for[e.payer].add(e.client)
    for e in m.engagements:
        if e.payer in m.relayers or e.payer == e.client:
            continue
        if e.provider in paid_for[e.payer]:
            for x in (e.client, e.provider):
                flag(x, "same_source", f"{e.payer} funded engagements on both sides (engagement {e.id})", 3.0)
    for payer, clients in paid_for.items():
        for e in m.engagements:
            if (
                e.client in clients
                and e.provider in clients
                and e.payer not in m.relayers
                and e.client != e.provider
            ):
                if payer not in (e.client, e.provider) and e.payer == e.client:
                    for x in (e.client, e.provider):
                        flag(x, "same_source", f"{payer} paid for both {e.client} and {e.provider}", 3.0)

    # review bursts
    by_subject: dict[str, list[int]] = defaultdict(list)
    for r in m.reviews:
        by_subject[r.subject].append(r.block)
    for subject, blocks in by_subject.items():
        ordered = np.sort(np.array(blocks))
        if len(ordered) >= burst_size:
            spans = ordered[burst_size - 1 :] - ordered[: len(ordered) - burst_size + 1]
            if spans.min() <= burst_window:
                flag(subject, "review_burst", f"{burst_size} reviews within {int(spans.min())} blocks", 1.0)

    # dispute rate
    count: dict[str, int] = defaultdict(int)
    disputed: dict[str, int] = defaultdict(int)
    for e in m.engagements:
        for x in (e.client, e.provider):
            count[x] += 1
            disputed[x] += e.disputed
    for x, n in count.items():
        if n >= 4 and disputed[x] / n >= dispute_threshold:
            flag(x, "dispute_rate", f"{disputed[x]} of {n} engagements disputed", 1.0)
    return reports


def flagged_reviews(m: Marketplace, reports: dict[str, RiskReport]) -> set[tuple[int, str]]:
    """Reviews discounted in public reputation: written by or about a severely flagged account pair."""
    bad = {a for a, r in reports.items() if r.flagged}
    return {(r.engagement_id, r.reviewer) for r in m.reviews if r.reviewer in bad and r.subject in bad}
