"""The independent review's findings, each reproduced as it was exploited on the v1 contracts and
shown closed: review bombing and farming, the minimum-less token, the cross-wallet voucher, both
dispute races, the burn-and-reissue, the timeout fee rounding, and the smaller credential rules."""

from __future__ import annotations

import hashlib
from typing import Any

import ape

from tests.contracts.conftest import DAY, ETH, FEE_BPS, HOUR, REVIEW_MINIMUM_ETH, TERMS
from tests.contracts.test_credential import SKILL, as_tuple, digest, make_voucher, sign_voucher, token_id

ONE = 10**18
RELEASED, REFUNDED = 2, 3
COMMENT = b"\x33" * 32


def request(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any, amounts: list[int], due_in: int
) -> int:
    now = chain.pending_timestamp
    return int(
        escrow.createEngagement(
            provider,
            ETH,
            amounts,
            [now + due_in] * len(amounts),
            HOUR,
            arbiter,
            TERMS,
            sender=client,
            value=sum(amounts),
        ).return_value
    )


# ------------------------------------------------------------------ 1. review bombing and farming


def test_review_bombing_a_provider_who_never_agreed_is_impossible(
    escrow: Any, reputation: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    # v1: create naming any provider, due in one second, cancel in the next block, post 1 star.
    eid = request(escrow, client, provider, arbiter, chain, [ONE], 1)
    chain.pending_timestamp = chain.pending_timestamp + 2
    with ape.reverts(escrow.EscrowNotAccepted, id=eid):
        escrow.cancel(eid, sender=client)
    escrow.withdrawRequest(eid, sender=client)
    with ape.reverts(reputation.ReputationNotAccepted, engagementId=eid):
        reputation.review(eid, 1, COMMENT, sender=client)
    assert reputation.reputationOf(provider) == (0, 0, 0, 0)


def test_farming_with_a_second_wallet_needs_real_payment_and_pays_the_fee(
    escrow: Any, reputation: Any, client: Any, accounts: Any, arbiter: Any, treasury: Any, chain: Any
) -> None:
    sock = accounts[7]  # the farmer's second wallet, as provider
    eid = request(escrow, client, sock, arbiter, chain, [ONE], DAY)
    escrow.acceptEngagement(eid, sender=sock)
    escrow.cancel(eid, sender=sock)  # v1: full refund, then a free 5-star review
    with ape.reverts(
        reputation.ReputationBelowMinimum, engagementId=eid, token=ETH, paid=0, minimum=REVIEW_MINIMUM_ETH
    ):
        reputation.review(eid, 5, COMMENT, sender=client)
    # The only way left: pay at least the minimum through the escrow, and the treasury keeps the fee.
    paid = request(escrow, client, sock, arbiter, chain, [REVIEW_MINIMUM_ETH], DAY)
    escrow.acceptEngagement(paid, sender=sock)
    before = escrow.owed(ETH, treasury)
    escrow.approveMilestone(paid, 0, sender=client)
    reputation.review(paid, 5, COMMENT, sender=client)
    assert escrow.owed(ETH, treasury) - before == REVIEW_MINIMUM_ETH * FEE_BPS // 10_000


def test_farming_contract_cannot_post_mutual_pairs_from_refunded_engagements(
    project: Any, escrow: Any, reputation: Any, admin: Any, arbiter: Any
) -> None:
    farmer = admin.deploy(project.ReviewFarmer)
    with ape.reverts(reputation.ReputationBelowMinimum):
        farmer.farm(escrow, reputation, arbiter, 5, sender=admin, value=5 * ONE)


def test_request_accept_immediate_dispute_timeout_gives_no_review(
    escrow: Any, reputation: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [ONE], 30 * DAY)
    escrow.acceptEngagement(eid, sender=provider)
    with ape.reverts(escrow.EscrowNothingToDispute, id=eid):  # a session weeks away
        escrow.raiseDispute(eid, sender=client)
    chain.pending_timestamp = int(escrow.getMilestone(eid, 0).dueDate) + 1
    escrow.raiseDispute(eid, sender=client)
    chain.pending_timestamp = chain.pending_timestamp + 14 * DAY
    escrow.settleExpiredDispute(eid, sender=client)
    with ape.reverts(reputation.ReputationBelowMinimum, engagementId=eid):
        reputation.review(eid, 1, COMMENT, sender=client)


def test_arbiter_resolution_makes_a_failed_engagement_reviewable(
    escrow: Any, reputation: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [ONE], DAY)
    escrow.acceptEngagement(eid, sender=provider)
    chain.pending_timestamp = int(escrow.getMilestone(eid, 0).dueDate) + 1
    escrow.raiseDispute(eid, sender=client)
    escrow.resolveDispute(eid, 0, sender=arbiter)  # nothing to the provider, but the arbiter weighed it
    assert escrow.settlementOf(eid).arbitrated
    reputation.review(eid, 1, COMMENT, sender=client)
    assert reputation.reputationOf(provider) == (1, 1, 0, 0)


# ------------------------------------------------------------------ 2. a token without a minimum


def test_token_without_a_minimum_is_not_reviewable(
    project: Any,
    escrow: Any,
    reputation: Any,
    admin: Any,
    client: Any,
    provider: Any,
    arbiter: Any,
    chain: Any,
) -> None:
    token = admin.deploy(project.MockERC20, "No Minimum", "NOMIN", 6)
    escrow.setTokenAllowed(token, True, sender=admin)
    token.mint(client, 10**6, sender=admin)
    token.approve(escrow, 10**6, sender=client)
    now = chain.pending_timestamp
    eid = escrow.createEngagement(
        provider, token, [1], [now + DAY], DAY, arbiter, TERMS, sender=client
    ).return_value
    escrow.acceptEngagement(eid, sender=provider)
    escrow.approveMilestone(eid, 0, sender=client)  # 0.000001, the fee rounds to 0
    with ape.reverts(reputation.ReputationNoMinimum, token=token):
        reputation.review(eid, 5, COMMENT, sender=client)


# ------------------------------------------------------------------ 3. vouchers bound to their issuer


def test_one_owners_signature_cannot_serve_another_of_its_wallets(
    project: Any, credential: Any, admin: Any, client: Any, stranger: Any, chain: Any, accounts: Any
) -> None:
    owner = accounts[8]
    w1 = admin.deploy(project.TestSmartWallet, owner)  # checks the owner's signature over the raw hash
    w2 = admin.deploy(project.TestSmartWallet, owner)
    for w in (w1, w2):
        credential.grantRole(credential.ISSUER_ROLE(), w, sender=admin)
    v = make_voucher(client, "cross-wallet", chain, nonce=5, issuer=w1)
    sig = sign_voucher(owner.private_key, credential, v)
    w1.execute(credential, credential.cancelVoucher.encode_input(5), sender=owner)
    # v1: the nonce W1 cancelled was redeemed naming W2.
    with ape.reverts(credential.CredentialVoucherIssuerMismatch, voucherIssuer=w1, issuer=w2):
        credential.issueWithVoucher(as_tuple(v), w2, sig, sender=stranger)
    # A voucher naming W2 but signed for W1's voucher is just a bad signature.
    v2 = v | {"issuer": w2.address}
    with ape.reverts(credential.CredentialInvalidSignature, issuer=w2):
        credential.issueWithVoucher(as_tuple(v2), w2, sig, sender=stranger)


def test_revoked_voucher_credential_does_not_come_back_through_another_wallet(
    project: Any, credential: Any, admin: Any, client: Any, stranger: Any, chain: Any, accounts: Any
) -> None:
    owner = accounts[8]
    w1 = admin.deploy(project.TestSmartWallet, owner)
    w2 = admin.deploy(project.TestSmartWallet, owner)
    for w in (w1, w2):
        credential.grantRole(credential.ISSUER_ROLE(), w, sender=admin)
    v = make_voucher(client, "revoked-then-replayed", chain, nonce=6, issuer=w1)
    sig = sign_voucher(owner.private_key, credential, v)
    tid = credential.issueWithVoucher(as_tuple(v), w1, sig, sender=stranger).return_value
    w1.execute(credential, credential.revoke.encode_input(tid, digest("reason")), sender=owner)
    credential.burn(tid, sender=client)
    with ape.reverts(credential.CredentialVoucherIssuerMismatch):
        credential.issueWithVoucher(as_tuple(v), w2, sig, sender=stranger)
    assert not credential.verify(tid).exists and credential.isRevoked(tid)


# ------------------------------------------------------------------ 4. the first to dispute no longer steers the timeout


def test_client_cannot_dispute_work_not_yet_due_to_take_money_back_early(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [ONE], 30 * DAY)
    escrow.acceptEngagement(eid, sender=provider)
    with ape.reverts(escrow.EscrowNothingToDispute, id=eid):
        escrow.raiseDispute(eid, sender=client)
    escrow.submitMilestone(eid, 0, TERMS, sender=provider)  # the provider can still deliver


def test_late_garbage_submission_plus_dispute_does_not_beat_the_clients_cancel(
    escrow: Any, client: Any, provider: Any, stranger: Any, arbiter: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [ONE], DAY)
    escrow.acceptEngagement(eid, sender=provider)
    chain.pending_timestamp = int(escrow.getMilestone(eid, 0).dueDate) + 1
    # v1: a late garbage submission and a provider dispute, ahead of the client's cancel, and on
    # day 14 the provider was paid 0.975 ETH.
    escrow.submitMilestone(eid, 0, b"\xde" * 32, sender=provider)
    with ape.reverts(escrow.EscrowNothingToDispute, id=eid):
        escrow.raiseDispute(eid, sender=provider)
    with ape.reverts(escrow.EscrowNothingToCancel, id=eid):  # submitted work is not cancelled away...
        escrow.cancel(eid, sender=client)
    escrow.raiseDispute(eid, sender=client)  # ...but the client has its review window to dispute it
    chain.pending_timestamp = chain.pending_timestamp + 14 * DAY
    escrow.settleExpiredDispute(eid, sender=stranger)
    assert escrow.getMilestone(eid, 0).state == REFUNDED  # a late submission loses the timeout
    assert escrow.owed(ETH, client) == ONE and escrow.owed(ETH, provider) == 0


def test_late_submission_the_client_wants_can_still_be_approved(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [ONE], DAY)
    escrow.acceptEngagement(eid, sender=provider)
    chain.pending_timestamp = int(escrow.getMilestone(eid, 0).dueDate) + 1
    escrow.submitMilestone(eid, 0, TERMS, sender=provider)
    escrow.approveMilestone(eid, 0, sender=client)
    assert escrow.getMilestone(eid, 0).state == RELEASED


# ------------------------------------------------------------------ 5. the smaller findings


def test_timeout_fee_never_exceeds_releasing_each_milestone(
    escrow: Any, client: Any, provider: Any, treasury: Any, arbiter: Any, stranger: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [39] * 16, DAY)
    escrow.acceptEngagement(eid, sender=provider)
    for i in range(16):
        escrow.submitMilestone(eid, i, TERMS, sender=provider)
    escrow.raiseDispute(eid, sender=client)
    chain.pending_timestamp = chain.pending_timestamp + 14 * DAY
    before = escrow.owed(ETH, treasury)
    tx = escrow.settleExpiredDispute(eid, sender=stranger)
    [event] = tx.decode_logs(escrow.DisputeResolved)
    assert event.fee == 0 and event.providerAmount == 16 * 39  # v1: 15 wei of fee
    assert escrow.owed(ETH, treasury) == before


def test_arbiter_resolution_fee_is_per_milestone_too(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [39] * 16, DAY)
    escrow.acceptEngagement(eid, sender=provider)
    chain.pending_timestamp = chain.pending_timestamp + DAY + 1
    escrow.raiseDispute(eid, sender=client)
    tx = escrow.resolveDispute(eid, 10_000, sender=arbiter)
    assert tx.decode_logs(escrow.DisputeResolved)[0].fee == 0


def test_burn_and_reissue_never_wipes_a_revocation(
    credential: Any, admin: Any, provider: Any, client: Any, accounts: Any
) -> None:
    other = accounts[7]
    credential.grantRole(credential.ISSUER_ROLE(), other, sender=admin)
    d = digest("revoked-for-good")
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    credential.revoke(token_id(d), digest("reason"), sender=provider)
    credential.burn(token_id(d), sender=client)
    for issuer in (other, provider):
        with ape.reverts(credential.CredentialRevokedForever, tokenId=token_id(d)):
            credential.issue(client, SKILL, d, 0, 0, sender=issuer)
    assert credential.isRevoked(token_id(d))


def test_de_accredited_issuer_can_no_longer_revoke_but_the_admin_can(
    credential: Any, admin: Any, provider: Any, client: Any
) -> None:
    d = digest("compromised-issuer")
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    credential.revokeRole(credential.ISSUER_ROLE(), provider, sender=admin)
    with ape.reverts(credential.CredentialUnauthorizedRevoker, tokenId=token_id(d), caller=provider):
        credential.revoke(token_id(d), digest("r"), sender=provider)
    credential.revoke(token_id(d), digest("r"), sender=admin)


def test_one_engagement_backs_one_credential_per_skill_and_verify_names_it(
    escrow: Any, credential: Any, client: Any, provider: Any, create: Any
) -> None:
    eid = create([ONE])
    escrow.approveMilestone(eid, 0, sender=client)
    tid = credential.issue(client, SKILL, digest("backed-once"), 0, eid, sender=provider).return_value
    assert credential.verify(tid).engagementId == eid
    with ape.reverts(credential.CredentialEngagementUsed, engagementId=eid, skillId=SKILL):
        credential.issue(client, SKILL, digest("backed-twice"), 0, eid, sender=provider)
    other_skill = hashlib.sha3_256(b"another skill").digest()
    credential.issue(client, other_skill, digest("backed-other-skill"), 0, eid, sender=provider)
    assert credential.verify(token_id(digest("plain"))).engagementId == 0


def test_unaccepted_engagement_backs_no_credential(
    escrow: Any, credential: Any, client: Any, provider: Any, create: Any
) -> None:
    eid = create([ONE], accept=False)
    escrow.cancel(eid, sender=provider)
    with ape.reverts(credential.CredentialEngagementMismatch, engagementId=eid, reason=3):
        credential.issue(client, SKILL, digest("never-accepted"), 0, eid, sender=provider)


# ------------------------------------------------------------------ found by a review of v2


def test_work_submitted_during_an_open_dispute_can_still_be_contested(
    escrow: Any, client: Any, provider: Any, stranger: Any, arbiter: Any, chain: Any
) -> None:
    # A cheap milestone left overdue and disputed by the provider must not shield garbage on another.
    now = chain.pending_timestamp
    eid = int(
        escrow.createEngagement(
            provider,
            ETH,
            [1, 10 * ONE],
            [now + HOUR, now + 30 * DAY],
            DAY,
            arbiter,
            TERMS,
            sender=client,
            value=1 + 10 * ONE,
        ).return_value
    )
    escrow.acceptEngagement(eid, sender=provider)
    chain.pending_timestamp = chain.pending_timestamp + HOUR + 10
    tx = escrow.raiseDispute(eid, sender=provider)  # freezes only milestone 0 (funded, overdue)
    assert tx.decode_logs(escrow.DisputeRaised)[0].frozenMask == 0b01
    escrow.submitMilestone(eid, 1, b"\xde" * 32, sender=provider)  # garbage, on time
    added = escrow.raiseDispute(eid, sender=client)  # v2.0: EscrowDisputeOpen, then auto-release
    [event] = added.decode_logs(escrow.DisputeRaised)
    assert event.frozenMask == 0b10 and event.timeoutAt == event.raisedAt + 14 * DAY  # time restarts
    chain.pending_timestamp = chain.pending_timestamp + DAY + 10
    with ape.reverts(escrow.EscrowMilestoneFrozen, id=eid, index=1):
        escrow.autoRelease(eid, 1, sender=stranger)
    escrow.resolveDispute(eid, 0, sender=arbiter)
    assert escrow.owed(ETH, client) == 1 + 10 * ONE and escrow.owed(ETH, provider) == 0


def test_an_arbitrated_engagement_below_the_minimum_gives_no_review(
    escrow: Any, reputation: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    eid = request(escrow, client, provider, arbiter, chain, [1], HOUR)  # 1 wei
    escrow.acceptEngagement(eid, sender=provider)
    chain.pending_timestamp = chain.pending_timestamp + HOUR + 10
    escrow.raiseDispute(eid, sender=client)
    escrow.resolveDispute(eid, 0, sender=arbiter)
    with ape.reverts(reputation.ReputationBelowMinimum, engagementId=eid, paid=1, minimum=REVIEW_MINIMUM_ETH):
        reputation.review(eid, 5, COMMENT, sender=provider)
