"""Reputation: only the two parties of a settled engagement at or above the token minimum, once per side."""

from __future__ import annotations

from typing import Any

import ape
import pytest

from tests.contracts.conftest import DAY, ETH, TERMS

ONE = 10**18
COMMENT = b"\x33" * 32
PROVIDER_ROLE, CLIENT_ROLE = 0, 1


@pytest.fixture
def settled(escrow: Any, client: Any, create: Any) -> int:
    eid = create([ONE, ONE])
    escrow.approveMilestone(eid, 0, sender=client)
    escrow.approveMilestone(eid, 1, sender=client)
    return eid


def test_both_parties_review_once_and_aggregates_follow(
    reputation: Any, settled: int, client: Any, provider: Any
) -> None:
    tx = reputation.review(settled, 5, COMMENT, sender=client)
    [event] = tx.decode_logs(reputation.ReviewSubmitted)
    assert event.engagementId == settled and event.reviewer == client and event.subject == provider
    assert event.role == PROVIDER_ROLE and event.rating == 5 and event.commentDigest == COMMENT
    reputation.review(settled, 3, COMMENT, sender=provider)
    assert reputation.reputationOf(provider) == (1, 5, 0, 0)
    assert reputation.reputationOf(client) == (0, 0, 1, 3)
    assert reputation.hasReviewed(settled, client) and reputation.hasReviewed(settled, provider)
    with ape.reverts(reputation.ReputationAlreadyReviewed, engagementId=settled, reviewer=client):
        reputation.review(settled, 4, COMMENT, sender=client)


def test_review_rejects_strangers(reputation: Any, settled: int, stranger: Any) -> None:
    with ape.reverts(reputation.ReputationNotParty, engagementId=settled, caller=stranger):
        reputation.review(settled, 5, COMMENT, sender=stranger)


@pytest.mark.parametrize("rating", [0, 6])
def test_review_rejects_rating_outside_1_to_5(
    reputation: Any, settled: int, client: Any, rating: int
) -> None:
    with ape.reverts(reputation.ReputationInvalidRating, rating=rating):
        reputation.review(settled, rating, COMMENT, sender=client)


def test_review_rejects_unsettled_engagement(reputation: Any, escrow: Any, client: Any, create: Any) -> None:
    eid = create([ONE, ONE])
    escrow.approveMilestone(eid, 0, sender=client)
    with ape.reverts(reputation.ReputationNotSettled, engagementId=eid):
        reputation.review(eid, 5, COMMENT, sender=client)


def test_review_rejects_unknown_engagement(reputation: Any, escrow: Any, client: Any) -> None:
    with ape.reverts(escrow.EscrowUnknownEngagement, id=77):
        reputation.review(77, 5, COMMENT, sender=client)


def test_review_minimum_per_token_counts_what_reached_the_provider(
    reputation: Any,
    escrow: Any,
    usdc: Any,
    admin: Any,
    client: Any,
    provider: Any,
    arbiter: Any,
    chain: Any,
    create: Any,
) -> None:
    reputation.setReviewMinimum(ETH, 2 * ONE, sender=admin)
    small = create([ONE])
    escrow.approveMilestone(small, 0, sender=client)
    with ape.reverts(
        reputation.ReputationBelowMinimum, engagementId=small, token=ETH, paid=ONE, minimum=2 * ONE
    ):
        reputation.review(small, 5, COMMENT, sender=client)
    # Escrowed value is not enough: 3 ETH escrowed, 1 released, 2 refunded.
    half = create([ONE, 2 * ONE])
    escrow.approveMilestone(half, 0, sender=client)
    escrow.cancel(half, sender=provider)
    with ape.reverts(
        reputation.ReputationBelowMinimum, engagementId=half, token=ETH, paid=ONE, minimum=2 * ONE
    ):
        reputation.review(half, 1, COMMENT, sender=client)
    exact = create([ONE, ONE])  # exactly the minimum, gross (the fee is part of it)
    escrow.approveMilestone(exact, 0, sender=client)
    escrow.approveMilestone(exact, 1, sender=client)
    reputation.review(exact, 1, COMMENT, sender=client)
    now = chain.pending_timestamp
    tid = escrow.createEngagement(
        provider, usdc, [999], [now + DAY], DAY, arbiter, TERMS, sender=client
    ).return_value
    escrow.acceptEngagement(tid, sender=provider)
    escrow.approveMilestone(tid, 0, sender=client)
    with ape.reverts(reputation.ReputationBelowMinimum, engagementId=tid, token=usdc, paid=999, minimum=1000):
        reputation.review(tid, 5, COMMENT, sender=provider)


def test_only_admin_sets_minimum(reputation: Any, stranger: Any) -> None:
    with ape.reverts(reputation.AccessControlUnauthorizedAccount):
        reputation.setReviewMinimum(ETH, 1, sender=stranger)


def test_aggregates_match_many_reviews(
    reputation: Any, escrow: Any, client: Any, provider: Any, create: Any
) -> None:
    ratings = [5, 4, 2, 5, 1]
    for r in ratings:
        eid = create([ONE])
        escrow.approveMilestone(eid, 0, sender=client)
        reputation.review(eid, r, COMMENT, sender=client)
        reputation.review(eid, 6 - r, COMMENT, sender=provider)
    p_count, p_sum, _, _ = reputation.reputationOf(provider)
    _, _, c_count, c_sum = reputation.reputationOf(client)
    assert (p_count, p_sum) == (5, sum(ratings))
    assert (c_count, c_sum) == (5, sum(6 - r for r in ratings))
