"""SkillEscrow: every function's happy path, each custom-error revert and each time boundary."""

from __future__ import annotations

from typing import Any

import ape
import pytest

from tests.contracts.conftest import DAY, ETH, FEE_BPS, HOUR, TERMS

ONE = 10**18
FUNDED, SUBMITTED, RELEASED, REFUNDED, RESOLVED = range(5)


def fee_of(amount: int) -> int:
    return amount * FEE_BPS // 10_000


# ------------------------------------------------------------------ creation


def test_create_engagement_escrows_eth_and_emits_every_field(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    tx = escrow.createEngagement(
        provider,
        ETH,
        [ONE, 2 * ONE],
        [now + DAY, now + 2 * DAY],
        DAY,
        arbiter,
        TERMS,
        sender=client,
        value=3 * ONE,
    )
    assert tx.return_value == 1
    [event] = tx.decode_logs(escrow.EngagementCreated)
    assert event.id == 1 and event.client == client and event["provider"] == provider
    assert event.payer == client and event.token == ETH and event.arbiter == arbiter
    assert event.feeBps == FEE_BPS and event.reviewWindow == DAY
    assert list(event.amounts) == [ONE, 2 * ONE]
    assert list(event.dueDates) == [now + DAY, now + 2 * DAY]
    assert event.termsDigest == TERMS and int.from_bytes(event.externalRef, "big") == 0
    assert escrow.balance == 3 * ONE
    e = escrow.getEngagement(1)
    assert (e.client, e.provider, e.payer, e.arbiter) == (client, provider, client, arbiter)
    assert e.milestoneCount == 2 and e.openMilestones == 2 and not e.paid
    assert escrow.getMilestone(1, 1).state == FUNDED


def test_create_engagement_with_token_pulls_exact_total(
    escrow: Any, usdc: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    before = usdc.balanceOf(client)
    now = chain.pending_timestamp
    escrow.createEngagement(provider, usdc, [500, 700], [now + DAY] * 2, DAY, arbiter, TERMS, sender=client)
    assert usdc.balanceOf(escrow) == 1200
    assert usdc.balanceOf(client) == before - 1200


def test_create_engagement_reverts_when_client_is_provider(escrow: Any, client: Any, create: Any) -> None:
    with ape.reverts(escrow.EscrowSelfEngagement, account=client):
        create(to=client)


@pytest.mark.parametrize("party", ["client", "provider"])
def test_create_engagement_reverts_when_arbiter_is_party(
    escrow: Any, admin: Any, client: Any, provider: Any, chain: Any, party: str
) -> None:
    who = client if party == "client" else provider
    escrow.grantRole(escrow.ARBITER_ROLE(), who, sender=admin)
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowArbiterIsParty, arbiter=who):
        escrow.createEngagement(provider, ETH, [ONE], [now + DAY], DAY, who, TERMS, sender=client, value=ONE)


def test_create_engagement_reverts_when_arbiter_lacks_role(
    escrow: Any, client: Any, provider: Any, stranger: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowNotAnArbiter, arbiter=stranger):
        escrow.createEngagement(
            provider, ETH, [ONE], [now + DAY], DAY, stranger, TERMS, sender=client, value=ONE
        )


def test_a_revoked_or_renounced_arbiter_cannot_be_named_again(
    escrow: Any, admin: Any, client: Any, provider: Any, stranger: Any, accounts: Any, chain: Any
) -> None:
    other = accounts[7]
    for who in (stranger, other):
        escrow.grantRole(escrow.ARBITER_ROLE(), who, sender=admin)
    escrow.revokeRole(escrow.ARBITER_ROLE(), stranger, sender=admin)
    escrow.renounceRole(escrow.ARBITER_ROLE(), other, sender=other)
    now = chain.pending_timestamp
    for who in (stranger, other):
        with ape.reverts(escrow.EscrowNotAnArbiter, arbiter=who):
            escrow.createEngagement(
                provider, ETH, [ONE], [now + DAY], DAY, who, TERMS, sender=client, value=ONE
            )
    escrow.grantRole(escrow.ARBITER_ROLE(), stranger, sender=admin)  # re-granted: the same id, active again
    escrow.createEngagement(provider, ETH, [ONE], [now + DAY], DAY, stranger, TERMS, sender=client, value=ONE)


def test_create_engagement_reverts_for_unlisted_token(
    project: Any, escrow: Any, admin: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    token = admin.deploy(project.MockERC20, "X", "X", 18)
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowTokenNotAllowed, token=token):
        escrow.createEngagement(provider, token, [ONE], [now + DAY], DAY, arbiter, TERMS, sender=client)


def test_create_engagement_reverts_for_fee_on_transfer_token(
    project: Any, escrow: Any, admin: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    token = admin.deploy(project.FeeOnTransferToken)
    escrow.setTokenAllowed(token, True, sender=admin)
    token.mint(client, 10_000, sender=admin)
    token.approve(escrow, 10_000, sender=client)
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowFeeOnTransferToken, token=token, expected=1000, received=990):
        escrow.createEngagement(provider, token, [1000], [now + DAY], DAY, arbiter, TERMS, sender=client)


def test_create_engagement_bounds_milestone_count(escrow: Any, create: Any) -> None:
    create([1] * 16)  # the maximum is fine
    with ape.reverts(escrow.EscrowMilestoneCount, count=17, max=16):
        create([1] * 17)


def test_create_engagement_reverts_with_no_milestone(
    escrow: Any, client: Any, provider: Any, arbiter: Any
) -> None:
    with ape.reverts(escrow.EscrowMilestoneCount, count=0, max=16):
        escrow.createEngagement(provider, ETH, [], [], DAY, arbiter, TERMS, sender=client)


def test_create_engagement_reverts_on_length_mismatch(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowLengthMismatch, amounts=2, dueDates=1):
        escrow.createEngagement(
            provider, ETH, [1, 1], [now + DAY], DAY, arbiter, TERMS, sender=client, value=2
        )


@pytest.mark.parametrize(
    ("window", "ok"), [(HOUR - 1, False), (HOUR, True), (30 * DAY, True), (30 * DAY + 1, False)]
)
def test_create_engagement_bounds_review_window(escrow: Any, create: Any, window: int, ok: bool) -> None:
    if ok:
        create(window=window)
    else:
        with ape.reverts(escrow.EscrowReviewWindowOutOfBounds, reviewWindow=window, min=HOUR, max=30 * DAY):
            create(window=window)


@pytest.mark.parametrize("offset", [0, -1])
def test_create_engagement_reverts_for_due_date_not_in_future(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any, offset: int
) -> None:
    now = chain.pending_timestamp
    chain.pending_timestamp = now
    with ape.reverts(escrow.EscrowInvalidDueDate, index=0, dueDate=now + offset):
        escrow.createEngagement(
            provider, ETH, [ONE], [now + offset], DAY, arbiter, TERMS, sender=client, value=ONE
        )


def test_create_engagement_reverts_for_zero_amount(escrow: Any, create: Any) -> None:
    with ape.reverts(escrow.EscrowInvalidAmount, index=1, amount=0):
        create([1, 0])


@pytest.mark.parametrize("value", [3 * ONE - 1, 3 * ONE + 1, 0])
def test_create_engagement_reverts_on_wrong_value(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any, value: int
) -> None:
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowWrongValue, sent=value, expected=3 * ONE):
        escrow.createEngagement(
            provider,
            ETH,
            [ONE, 2 * ONE],
            [now + DAY] * 2,
            DAY,
            arbiter,
            TERMS,
            sender=client,
            value=value,
        )


def test_create_engagement_with_token_reverts_when_eth_sent(
    escrow: Any, usdc: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowWrongValue, sent=1, expected=0):
        escrow.createEngagement(provider, usdc, [5], [now + DAY], DAY, arbiter, TERMS, sender=client, value=1)


def test_create_engagement_reverts_while_paused(escrow: Any, admin: Any, create: Any) -> None:
    escrow.setPaused(True, sender=admin)
    with ape.reverts(escrow.EscrowPaused):
        create()
    escrow.setPaused(False, sender=admin)
    create()


def test_fee_is_fixed_at_creation(escrow: Any, admin: Any, client: Any, provider: Any, create: Any) -> None:
    eid = create([10_000])
    escrow.setFee(1000, sender=admin)
    escrow.approveMilestone(eid, 0, sender=client)
    assert escrow.owed(ETH, provider) == 10_000 - fee_of(10_000)


def test_set_fee_reverts_above_cap(escrow: Any, admin: Any) -> None:
    with ape.reverts(escrow.EscrowFeeTooHigh, feeBps=1001, max=1000):
        escrow.setFee(1001, sender=admin)


def test_admin_functions_need_roles(escrow: Any, stranger: Any) -> None:
    with ape.reverts(escrow.AccessControlUnauthorizedAccount):
        escrow.setFee(1, sender=stranger)
    with ape.reverts(escrow.AccessControlUnauthorizedAccount):
        escrow.setPaused(True, sender=stranger)
    with ape.reverts(escrow.AccessControlUnauthorizedAccount):
        escrow.setTokenAllowed(stranger, True, sender=stranger)


# ------------------------------------------------------------------ fundFor


def test_fund_for_makes_relayer_the_payer_and_refunds_go_to_it(
    escrow: Any, usdc: Any, funder: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    ref = b"\x42" * 32
    tx = escrow.fundFor(client, provider, usdc, [900], [now + DAY], DAY, arbiter, TERMS, ref, sender=funder)
    eid = tx.return_value
    [event] = tx.decode_logs(escrow.EngagementCreated)
    assert event.payer == funder and event.client == client and event.externalRef == ref
    assert escrow.getEngagement(eid).payer == funder
    escrow.cancel(eid, sender=provider)
    assert escrow.owed(usdc, funder) == 900
    assert escrow.owed(usdc, client) == 0


def test_fund_for_reverts_on_reused_external_ref(
    escrow: Any, usdc: Any, funder: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    ref = b"\x43" * 32
    escrow.fundFor(client, provider, usdc, [900], [now + DAY], DAY, arbiter, TERMS, ref, sender=funder)
    with ape.reverts(escrow.EscrowExternalRefUsed, externalRef=ref):
        escrow.fundFor(client, provider, usdc, [900], [now + DAY], DAY, arbiter, TERMS, ref, sender=funder)
    assert escrow.isExternalRefUsed(ref)


def test_fund_for_needs_funder_role_and_a_reference(
    escrow: Any, usdc: Any, funder: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    with ape.reverts(escrow.AccessControlUnauthorizedAccount):
        escrow.fundFor(
            client,
            provider,
            usdc,
            [900],
            [now + DAY],
            DAY,
            arbiter,
            TERMS,
            b"\x01" * 32,
            sender=client,
        )
    with ape.reverts(escrow.EscrowZeroExternalRef):
        escrow.fundFor(
            client,
            provider,
            usdc,
            [900],
            [now + DAY],
            DAY,
            arbiter,
            TERMS,
            b"\x00" * 32,
            sender=funder,
        )


# ------------------------------------------------------------------ submit / approve / auto-release


def test_submit_sets_releasable_at(escrow: Any, provider: Any, create: Any, chain: Any) -> None:
    eid = create(window=2 * HOUR)
    t = chain.pending_timestamp + 10
    chain.pending_timestamp = t
    tx = escrow.submitMilestone(eid, 0, b"\x22" * 32, sender=provider)
    [event] = tx.decode_logs(escrow.MilestoneSubmitted)
    assert event.releasableAt == t + 2 * HOUR and event.deliverableDigest == b"\x22" * 32
    m = escrow.getMilestone(eid, 0)
    assert m.state == SUBMITTED and m.releasableAt == t + 2 * HOUR


def test_submit_reverts_for_non_provider_twice_or_unknown(
    escrow: Any, client: Any, provider: Any, create: Any
) -> None:
    eid = create()
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=client):
        escrow.submitMilestone(eid, 0, TERMS, sender=client)
    escrow.submitMilestone(eid, 0, TERMS, sender=provider)
    with ape.reverts(escrow.EscrowInvalidMilestoneState, id=eid, index=0, state=SUBMITTED):
        escrow.submitMilestone(eid, 0, TERMS, sender=provider)
    with ape.reverts(escrow.EscrowUnknownMilestone, id=eid, index=2):
        escrow.submitMilestone(eid, 2, TERMS, sender=provider)
    with ape.reverts(escrow.EscrowUnknownEngagement, id=999):
        escrow.submitMilestone(999, 0, TERMS, sender=provider)


def test_approve_releases_amount_minus_fee(
    escrow: Any, client: Any, provider: Any, treasury: Any, create: Any
) -> None:
    eid = create([ONE, 2 * ONE])
    escrow.submitMilestone(eid, 0, TERMS, sender=provider)
    tx = escrow.approveMilestone(eid, 0, sender=client)
    [event] = tx.decode_logs(escrow.MilestoneReleased)
    assert event.amount == ONE - fee_of(ONE) and event.fee == fee_of(ONE) and event["provider"] == provider
    assert escrow.owed(ETH, provider) == ONE - fee_of(ONE)
    assert escrow.owed(ETH, treasury) == fee_of(ONE)
    # The client may also release a milestone that was never submitted.
    escrow.approveMilestone(eid, 1, sender=client)
    e = escrow.getEngagement(eid)
    assert e.openMilestones == 0 and e.paid


def test_approve_milestone_reverts_when_caller_not_client(escrow: Any, provider: Any, create: Any) -> None:
    eid = create()
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=provider):
        escrow.approveMilestone(eid, 0, sender=provider)


def test_approve_milestone_reverts_when_already_released(escrow: Any, client: Any, create: Any) -> None:
    eid = create()
    escrow.approveMilestone(eid, 0, sender=client)
    with ape.reverts(escrow.EscrowInvalidMilestoneState, id=eid, index=0, state=RELEASED):
        escrow.approveMilestone(eid, 0, sender=client)


def submit_at(escrow: Any, chain: Any, provider: Any, eid: int, index: int = 0) -> int:
    """Submits at a known timestamp and returns releasableAt."""
    t = chain.pending_timestamp + 5
    chain.pending_timestamp = t
    escrow.submitMilestone(eid, index, TERMS, sender=provider)
    return int(escrow.getMilestone(eid, index).releasableAt)


def test_auto_release_one_second_before_and_at_releasable_at(
    escrow: Any, provider: Any, stranger: Any, create: Any, chain: Any
) -> None:
    eid = create()
    releasable = submit_at(escrow, chain, provider, eid)
    chain.pending_timestamp = releasable - 1
    with ape.reverts(escrow.EscrowNotYetReleasable, id=eid, index=0, releasableAt=releasable):
        escrow.autoRelease(eid, 0, sender=stranger)
    chain.pending_timestamp = releasable
    escrow.autoRelease(eid, 0, sender=stranger)
    assert escrow.getMilestone(eid, 0).state == RELEASED


def test_auto_release_reverts_for_unsubmitted_milestone(escrow: Any, stranger: Any, create: Any) -> None:
    eid = create()
    with ape.reverts(escrow.EscrowInvalidMilestoneState, id=eid, index=0, state=FUNDED):
        escrow.autoRelease(eid, 0, sender=stranger)


def test_approve_works_on_both_sides_of_releasable_at(
    escrow: Any, client: Any, provider: Any, create: Any, chain: Any
) -> None:
    eid = create()
    releasable = submit_at(escrow, chain, provider, eid, 0)
    chain.pending_timestamp = releasable - 1
    escrow.approveMilestone(eid, 0, sender=client)
    releasable = submit_at(escrow, chain, provider, eid, 1)
    chain.pending_timestamp = releasable + 1
    escrow.approveMilestone(eid, 1, sender=client)
    assert escrow.getEngagement(eid).openMilestones == 0


# ------------------------------------------------------------------ disputes


def test_dispute_allowed_one_second_before_releasable_at(
    escrow: Any, client: Any, provider: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE])
    releasable = submit_at(escrow, chain, provider, eid)
    chain.pending_timestamp = releasable - 1
    tx = escrow.raiseDispute(eid, sender=client)
    [event] = tx.decode_logs(escrow.DisputeRaised)
    assert event.by == client and event.timeoutAt == releasable - 1 + 14 * DAY


def test_dispute_at_releasable_at_reverts_the_work_is_the_providers(
    escrow: Any, client: Any, provider: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE])
    releasable = submit_at(escrow, chain, provider, eid)
    chain.pending_timestamp = releasable
    with ape.reverts(escrow.EscrowNothingToDispute, id=eid):
        escrow.raiseDispute(eid, sender=client)


def past_due(escrow: Any, chain: Any, eid: int, index: int = 0) -> None:
    """Moves the clock just past the milestone's due date (never backwards)."""
    chain.pending_timestamp = max(chain.pending_timestamp, int(escrow.getMilestone(eid, index).dueDate) + 1)


def test_dispute_freezes_only_eligible_milestones_and_the_rest_goes_on(
    escrow: Any, client: Any, provider: Any, stranger: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE, 2 * ONE, 3 * ONE], [DAY, 30 * DAY, 30 * DAY])
    releasable = submit_at(escrow, chain, provider, eid, 0)
    tx = escrow.raiseDispute(eid, sender=client)  # milestone 0 is under review; 1 and 2 are not due
    [event] = tx.decode_logs(escrow.DisputeRaised)
    assert event.frozenMask == 0b001
    assert escrow.getMilestone(eid, 0).frozen and not escrow.getMilestone(eid, 1).frozen
    # The frozen milestone is the arbiter's: no release, approval or cancel touches it.
    chain.pending_timestamp = releasable + 1
    with ape.reverts(escrow.EscrowMilestoneFrozen, id=eid, index=0):
        escrow.autoRelease(eid, 0, sender=stranger)
    with ape.reverts(escrow.EscrowMilestoneFrozen, id=eid, index=0):
        escrow.approveMilestone(eid, 0, sender=client)
    with ape.reverts(escrow.EscrowNothingToDispute, id=eid):  # nothing new to add to the open dispute
        escrow.raiseDispute(eid, sender=client)
    # Everything else goes on: the provider delivers, the client approves, a cancel skips the frozen one.
    escrow.submitMilestone(eid, 1, TERMS, sender=provider)
    escrow.approveMilestone(eid, 1, sender=client)
    tx = escrow.cancel(eid, sender=provider)
    assert [r.index for r in tx.decode_logs(escrow.MilestoneRefunded)] == [2]
    assert escrow.getMilestone(eid, 0).state == SUBMITTED


def test_provider_may_dispute_only_overdue_funded_milestones(
    escrow: Any, client: Any, provider: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE, ONE], [DAY, 2 * DAY])
    submit_at(escrow, chain, provider, eid, 0)
    # Its own submission under review is the client's to contest, not the provider's.
    with ape.reverts(escrow.EscrowNothingToDispute, id=eid):
        escrow.raiseDispute(eid, sender=provider)
    past_due(escrow, chain, eid, 1)
    tx = escrow.raiseDispute(eid, sender=provider)
    assert tx.decode_logs(escrow.DisputeRaised)[0].frozenMask == 0b10


def test_dispute_on_a_milestone_not_yet_due_reverts(
    escrow: Any, client: Any, provider: Any, create: Any
) -> None:
    eid = create([ONE], [30 * DAY])
    for who in (client, provider):
        with ape.reverts(escrow.EscrowNothingToDispute, id=eid):
            escrow.raiseDispute(eid, sender=who)


def test_dispute_reverts_for_strangers_and_settled_engagements(
    escrow: Any, client: Any, stranger: Any, create: Any
) -> None:
    eid = create([ONE])
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=stranger):
        escrow.raiseDispute(eid, sender=stranger)
    escrow.approveMilestone(eid, 0, sender=client)
    with ape.reverts(escrow.EscrowNothingToDispute, id=eid):
        escrow.raiseDispute(eid, sender=client)


def overdue_dispute(escrow: Any, chain: Any, client: Any, eid: int) -> None:
    past_due(escrow, chain, eid, escrow.getEngagement(eid).milestoneCount - 1)
    escrow.raiseDispute(eid, sender=client)


def test_resolve_dispute_splits_frozen_amount_once(
    escrow: Any, client: Any, provider: Any, arbiter: Any, treasury: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE, 3 * ONE], [DAY, DAY])
    overdue_dispute(escrow, chain, client, eid)
    tx = escrow.resolveDispute(eid, 2500, sender=arbiter)
    [event] = tx.decode_logs(escrow.DisputeResolved)
    gross = 4 * ONE * 2500 // 10_000
    assert event.providerAmount == gross - fee_of(gross) and event.fee == fee_of(gross)
    assert event.payerAmount == 4 * ONE - gross and not event.byTimeout
    assert escrow.owed(ETH, provider) == gross - fee_of(gross)
    assert escrow.owed(ETH, client) == 4 * ONE - gross
    assert escrow.owed(ETH, treasury) == fee_of(gross)
    m = escrow.getMilestone(eid, 1)
    assert m.state == RESOLVED and m.providerShareBps == 2500 and not m.frozen
    assert escrow.getEngagement(eid).openMilestones == 0
    with ape.reverts(escrow.EscrowNoOpenDispute, id=eid):
        escrow.resolveDispute(eid, 2500, sender=arbiter)


def test_only_the_named_arbiter_resolves(
    escrow: Any, admin: Any, client: Any, stranger: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE])
    overdue_dispute(escrow, chain, client, eid)
    escrow.grantRole(escrow.ARBITER_ROLE(), stranger, sender=admin)  # an arbiter, but not this one
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=stranger):
        escrow.resolveDispute(eid, 5000, sender=stranger)
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=client):
        escrow.resolveDispute(eid, 5000, sender=client)


def test_resolve_dispute_rejects_share_above_100_percent(
    escrow: Any, client: Any, arbiter: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE])
    overdue_dispute(escrow, chain, client, eid)
    with ape.reverts(escrow.EscrowInvalidShare, providerShareBps=10_001):
        escrow.resolveDispute(eid, 10_001, sender=arbiter)


def test_expired_dispute_settles_by_default_rule_at_timeout(
    escrow: Any, client: Any, provider: Any, stranger: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE, 2 * ONE], [DAY, DAY])
    submit_at(escrow, chain, provider, eid, 0)  # submitted on time: goes to the provider
    t = int(escrow.getMilestone(eid, 1).dueDate) + 1  # milestone 1 overdue, milestone 0 still under review
    chain.pending_timestamp = t
    tx = escrow.raiseDispute(eid, sender=client)
    assert tx.decode_logs(escrow.DisputeRaised)[0].frozenMask == 0b11
    timeout = t + 14 * DAY
    chain.pending_timestamp = timeout - 1
    with ape.reverts(escrow.EscrowDisputeNotTimedOut, id=eid, timeoutAt=timeout):
        escrow.settleExpiredDispute(eid, sender=stranger)
    chain.pending_timestamp = timeout
    tx = escrow.settleExpiredDispute(eid, sender=stranger)
    [event] = tx.decode_logs(escrow.DisputeResolved)
    assert event.byTimeout and event.providerAmount == ONE - fee_of(ONE) and event.payerAmount == 2 * ONE
    assert [r.index for r in tx.decode_logs(escrow.MilestoneReleased)] == [0]
    assert [r.index for r in tx.decode_logs(escrow.MilestoneRefunded)] == [1]
    assert (escrow.getMilestone(eid, 0).state, escrow.getMilestone(eid, 1).state) == (RELEASED, REFUNDED)
    assert escrow.owed(ETH, client) == 2 * ONE
    with ape.reverts(escrow.EscrowNoOpenDispute, id=eid):
        escrow.settleExpiredDispute(eid, sender=stranger)


def test_arbiter_may_still_resolve_after_timeout_until_someone_settles(
    escrow: Any, client: Any, arbiter: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE])
    overdue_dispute(escrow, chain, client, eid)
    chain.pending_timestamp = chain.pending_timestamp + 15 * DAY
    escrow.resolveDispute(eid, 10_000, sender=arbiter)
    with ape.reverts(escrow.EscrowNoOpenDispute, id=eid):
        escrow.settleExpiredDispute(eid, sender=client)


def test_funder_payer_may_raise_dispute(
    escrow: Any, usdc: Any, funder: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    eid = escrow.fundFor(
        client, provider, usdc, [900], [now + DAY], DAY, arbiter, TERMS, b"\x44" * 32, sender=funder
    ).return_value
    escrow.acceptEngagement(eid, sender=provider)
    past_due(escrow, chain, eid)
    escrow.raiseDispute(eid, sender=funder)
    escrow.resolveDispute(eid, 0, sender=arbiter)
    assert escrow.owed(usdc, funder) == 900 and escrow.owed(usdc, client) == 0


# ------------------------------------------------------------------ cancel


def test_provider_cancel_refunds_everything_unreleased(
    escrow: Any, client: Any, provider: Any, create: Any
) -> None:
    eid = create([ONE, 2 * ONE, 3 * ONE])
    escrow.approveMilestone(eid, 0, sender=client)
    escrow.submitMilestone(eid, 1, TERMS, sender=provider)
    tx = escrow.cancel(eid, sender=provider)
    [cancelled] = tx.decode_logs(escrow.EngagementCancelled)
    assert cancelled.refunded == 5 * ONE
    assert len(tx.decode_logs(escrow.MilestoneRefunded)) == 2
    assert escrow.owed(ETH, client) == 5 * ONE
    with ape.reverts(escrow.EscrowNothingToCancel, id=eid):
        escrow.cancel(eid, sender=provider)


def test_client_cancel_only_after_due_date_of_unsubmitted(
    escrow: Any, client: Any, provider: Any, create: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    eid = create([ONE, 2 * ONE], [DAY, DAY])
    due = int(escrow.getMilestone(eid, 0).dueDate)
    escrow.submitMilestone(eid, 1, TERMS, sender=provider)
    chain.pending_timestamp = due
    with ape.reverts(escrow.EscrowNothingToCancel, id=eid):
        escrow.cancel(eid, sender=client)
    chain.pending_timestamp = due + 1
    tx = escrow.cancel(eid, sender=client)
    [refund] = tx.decode_logs(escrow.MilestoneRefunded)
    assert refund.index == 0 and refund.amount == ONE
    assert escrow.getMilestone(eid, 1).state == SUBMITTED  # delivered work is not taken back
    assert now < due


def test_cancel_reverts_for_stranger(escrow: Any, stranger: Any, create: Any) -> None:
    eid = create()
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=stranger):
        escrow.cancel(eid, sender=stranger)


# ------------------------------------------------------------------ withdraw


def test_withdraw_pays_eth_and_tokens(
    escrow: Any, usdc: Any, client: Any, provider: Any, arbiter: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE])
    escrow.approveMilestone(eid, 0, sender=client)
    before = provider.balance
    tx = escrow.withdraw(ETH, sender=provider)
    assert provider.balance == before + ONE - fee_of(ONE) - tx.total_fees_paid
    now = chain.pending_timestamp
    tid = escrow.createEngagement(
        provider, usdc, [4000], [now + DAY], DAY, arbiter, TERMS, sender=client
    ).return_value
    escrow.acceptEngagement(tid, sender=provider)
    escrow.approveMilestone(tid, 0, sender=client)
    escrow.withdrawTo(usdc, arbiter, sender=provider)
    assert usdc.balanceOf(arbiter) == 4000 - fee_of(4000)
    with ape.reverts(escrow.EscrowNothingToWithdraw, account=provider, token=usdc):
        escrow.withdraw(usdc, sender=provider)


def test_withdraw_to_zero_address_reverts(escrow: Any, provider: Any) -> None:
    with ape.reverts(escrow.EscrowZeroAddress):
        escrow.withdrawTo(ETH, ETH, sender=provider)


def test_reentrant_provider_gains_nothing(
    project: Any, escrow: Any, admin: Any, client: Any, arbiter: Any, chain: Any
) -> None:
    attacker = admin.deploy(project.ReentrantParty, escrow)
    now = chain.pending_timestamp
    eid = escrow.createEngagement(
        attacker,
        ETH,
        [ONE, ONE],
        [now + DAY] * 2,
        DAY,
        arbiter,
        TERMS,
        sender=client,
        value=2 * ONE,
    ).return_value
    attacker.call(escrow.acceptEngagement.encode_input(eid), sender=admin)
    escrow.approveMilestone(eid, 0, sender=client)
    attacker.withdrawEth(sender=admin)
    assert attacker.received() == ONE - fee_of(ONE)
    assert attacker.reentryAttempts() == 1 and not attacker.reentrySucceeded()
    assert escrow.balance == ONE + fee_of(ONE)
    assert escrow.owed(ETH, attacker) == 0


def test_reentrant_payer_gains_nothing_from_refund_or_resolution(
    project: Any, escrow: Any, admin: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    attacker = admin.deploy(project.ReentrantParty, escrow)
    now = chain.pending_timestamp
    data = escrow.createEngagement.encode_input(
        provider, ETH, [ONE, ONE], [now + DAY] * 2, DAY, arbiter, TERMS
    )
    attacker.call(data, sender=admin, value=2 * ONE)
    eid = escrow.engagementCount()
    escrow.acceptEngagement(eid, sender=provider)
    chain.pending_timestamp = now + DAY + 1
    attacker.call(escrow.raiseDispute.encode_input(eid), sender=admin)
    escrow.resolveDispute(eid, 5000, sender=arbiter)
    attacker.withdrawEth(sender=admin)
    assert attacker.received() == ONE
    assert not attacker.reentrySucceeded()
    assert escrow.owed(ETH, attacker) == 0


def test_reverting_recipient_cannot_block_others(
    project: Any, escrow: Any, admin: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    refuser = admin.deploy(project.RevertingRecipient)
    now = chain.pending_timestamp
    # The refuser is a client owed a refund; the provider is owed a release on another engagement.
    data = escrow.createEngagement.encode_input(provider, ETH, [ONE], [now + DAY], DAY, arbiter, TERMS)
    refuser.call(escrow, data, sender=admin, value=ONE)
    refused_id = escrow.engagementCount()
    escrow.cancel(refused_id, sender=provider)
    other = escrow.createEngagement(
        provider, ETH, [ONE], [now + DAY], DAY, arbiter, TERMS, sender=client, value=ONE
    ).return_value
    escrow.acceptEngagement(other, sender=provider)
    escrow.approveMilestone(other, 0, sender=client)
    with ape.reverts(escrow.EscrowEthTransferFailed):
        refuser.call(escrow, escrow.withdraw.encode_input(ETH), sender=admin)
    escrow.withdraw(ETH, sender=provider)  # unaffected
    assert escrow.owed(ETH, refuser) == ONE  # still owed; it can withdraw to another address
    refuser.call(escrow, escrow.withdrawTo.encode_input(ETH, admin.address), sender=admin)
    assert escrow.owed(ETH, refuser) == 0


def test_pause_never_blocks_release_refund_resolution_or_withdrawal(
    escrow: Any,
    admin: Any,
    client: Any,
    provider: Any,
    arbiter: Any,
    stranger: Any,
    create: Any,
    chain: Any,
) -> None:
    a = create([ONE, ONE, ONE])
    b = create([ONE], [HOUR])
    escrow.setPaused(True, sender=admin)
    escrow.approveMilestone(a, 0, sender=client)
    releasable = submit_at(escrow, chain, provider, a, 1)
    chain.pending_timestamp = releasable
    escrow.autoRelease(a, 1, sender=stranger)
    escrow.cancel(a, sender=provider)
    past_due(escrow, chain, b)
    escrow.raiseDispute(b, sender=client)
    escrow.resolveDispute(b, 5000, sender=arbiter)
    escrow.withdraw(ETH, sender=provider)
    escrow.withdraw(ETH, sender=client)
    assert escrow.paused()


def test_token_without_return_value_works(
    project: Any, escrow: Any, admin: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    token = admin.deploy(project.NoReturnToken)
    escrow.setTokenAllowed(token, True, sender=admin)
    token.mint(client, 5000, sender=admin)
    token.approve(escrow, 5000, sender=client)
    now = chain.pending_timestamp
    eid = escrow.createEngagement(
        provider, token, [5000], [now + DAY], DAY, arbiter, TERMS, sender=client
    ).return_value
    escrow.acceptEngagement(eid, sender=provider)
    escrow.approveMilestone(eid, 0, sender=client)
    escrow.withdraw(token, sender=provider)
    assert token.balanceOf(provider) == 5000 - fee_of(5000)


def test_token_returning_false_reverts_cleanly(
    project: Any, escrow: Any, admin: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    token = admin.deploy(project.FalseReturnToken)
    escrow.setTokenAllowed(token, True, sender=admin)
    token.mint(client, 5000, sender=admin)
    token.approve(escrow, 5000, sender=client)
    now = chain.pending_timestamp
    eid = escrow.createEngagement(
        provider, token, [5000], [now + DAY], DAY, arbiter, TERMS, sender=client
    ).return_value
    escrow.acceptEngagement(eid, sender=provider)
    escrow.approveMilestone(eid, 0, sender=client)
    token.setFailing(True, sender=admin)
    with ape.reverts(escrow.SafeERC20FailedOperation, token=token):
        escrow.withdraw(token, sender=provider)
    assert escrow.owed(token, provider) == 5000 - fee_of(5000)  # nothing lost
    with ape.reverts(escrow.SafeERC20FailedOperation, token=token):
        escrow.createEngagement(provider, token, [1], [now + DAY], DAY, arbiter, TERMS, sender=client)


def test_admin_handover_is_two_step_with_delay(
    project: Any, admin: Any, stranger: Any, treasury: Any, chain: Any
) -> None:
    e = admin.deploy(project.SkillEscrow, admin, 3 * DAY, treasury, 0)
    e.beginDefaultAdminTransfer(stranger, sender=admin)
    with ape.reverts(e.AccessControlEnforcedDefaultAdminDelay):
        e.acceptDefaultAdminTransfer(sender=stranger)
    chain.pending_timestamp = chain.pending_timestamp + 3 * DAY + 1
    e.acceptDefaultAdminTransfer(sender=stranger)
    assert e.defaultAdmin() == stranger


# ---------------------------------------------------------------- storage bounds (packed layout)

MAX_AMOUNT = 2**96 - 1
MAX_DUE = 2**32 - 1


@pytest.mark.parametrize("index", [0, 1])
def test_amounts_beyond_96_bits_are_refused(
    escrow: Any, usdc: Any, client: Any, provider: Any, arbiter: Any, chain: Any, index: int
) -> None:
    amounts = [1, 1]
    amounts[index] = MAX_AMOUNT + 1
    now = chain.pending_timestamp
    with ape.reverts(escrow.EscrowInvalidAmount, index=index, amount=MAX_AMOUNT + 1):
        escrow.createEngagement(
            provider, usdc, amounts, [now + DAY, now + DAY], DAY, arbiter, TERMS, sender=client
        )


@pytest.mark.parametrize("index", [0, 1])
def test_due_dates_beyond_32_bits_are_refused(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any, index: int
) -> None:
    now = chain.pending_timestamp
    dues = [now + DAY, now + DAY]
    dues[index] = MAX_DUE + 1
    with ape.reverts(escrow.EscrowInvalidDueDate, index=index, dueDate=MAX_DUE + 1):
        escrow.createEngagement(provider, ETH, [1, 1], dues, DAY, arbiter, TERMS, sender=client, value=2)


def test_largest_terms_round_trip_for_the_inline_and_the_mapped_milestone(
    escrow: Any, usdc: Any, admin: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    usdc.mint(client, 2 * MAX_AMOUNT, sender=admin)
    now = chain.pending_timestamp
    eid = escrow.createEngagement(
        provider, usdc, [MAX_AMOUNT, MAX_AMOUNT - 1], [MAX_DUE, now + DAY], DAY, arbiter, TERMS, sender=client
    ).return_value
    first, second = escrow.getMilestone(eid, 0), escrow.getMilestone(eid, 1)
    assert (first.amount, first.dueDate, first.state) == (MAX_AMOUNT, MAX_DUE, FUNDED)
    assert (second.amount, second.dueDate, second.state) == (MAX_AMOUNT - 1, now + DAY, FUNDED)
    assert escrow.settlementOf(eid).value == 2 * MAX_AMOUNT - 1
    view = escrow.getEngagement(eid)
    assert (view.milestoneCount, view.openMilestones, view.paid, view.disputedAt) == (2, 2, False, 0)
    escrow.acceptEngagement(eid, sender=provider)
    # Releasing milestone 0 (whose progress shares the engagement's progress slot) pays exactly it.
    escrow.approveMilestone(eid, 0, sender=client)
    view = escrow.getEngagement(eid)
    assert (view.openMilestones, view.paid) == (1, True)
    assert escrow.getMilestone(eid, 0).state == RELEASED and escrow.getMilestone(eid, 1).state == FUNDED
    fee = MAX_AMOUNT * escrow.getEngagement(eid).feeBps // 10_000
    assert escrow.owed(usdc, provider) == MAX_AMOUNT - fee
