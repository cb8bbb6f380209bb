"""SkillEscrow consent: requests the provider accepts or declines (or the client withdraws), and
EIP-712 offers the provider signed, with every way an offer must be refused."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import ape
import pytest

from chain.offers import Offer
from tests.contracts.conftest import DAY, ETH, HOUR, TERMS
from tests.contracts.offer_helpers import custom_offer, session_offer, sign_offer

ONE = 10**18
FUNDED, SUBMITTED, RELEASED, REFUNDED, RESOLVED = range(5)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BOOKING = b"\x5b" * 32


def take(escrow: Any, offer: Offer, signature: bytes, sender: Any, starts_at: int = 0, **kw: Any) -> Any:
    deadline = kw.pop("deadline", 2**63)
    value = kw.pop("value", sum(offer.amounts) if offer.token == ETH else 0)
    return escrow.createEngagementWithOffer(
        offer.as_tuple(),
        signature,
        starts_at,
        kw.pop("booking", BOOKING),
        deadline,
        sender=sender,
        value=value,
    )


# ------------------------------------------------------------------ requests: accept, decline, withdraw


def test_request_waits_for_acceptance_and_nothing_works_before(
    escrow: Any, client: Any, provider: Any, create: Any
) -> None:
    eid = create([ONE], accept=False)
    assert not escrow.getEngagement(eid).accepted
    with ape.reverts(escrow.EscrowNotAccepted, id=eid):
        escrow.submitMilestone(eid, 0, TERMS, sender=provider)
    with ape.reverts(escrow.EscrowNotAccepted, id=eid):
        escrow.approveMilestone(eid, 0, sender=client)
    with ape.reverts(escrow.EscrowNotAccepted, id=eid):
        escrow.raiseDispute(eid, sender=client)
    with ape.reverts(escrow.EscrowNotAccepted, id=eid):
        escrow.cancel(eid, sender=client)
    tx = escrow.acceptEngagement(eid, sender=provider)
    assert tx.decode_logs(escrow.EngagementAccepted)[0].id == eid
    assert escrow.getEngagement(eid).accepted
    escrow.submitMilestone(eid, 0, TERMS, sender=provider)
    with ape.reverts(escrow.EscrowAlreadyAccepted, id=eid):
        escrow.acceptEngagement(eid, sender=provider)


def test_only_the_provider_accepts(escrow: Any, client: Any, stranger: Any, create: Any) -> None:
    eid = create([ONE], accept=False)
    for who in (client, stranger):
        with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=who):
            escrow.acceptEngagement(eid, sender=who)


def test_accept_reverts_once_any_due_date_has_passed(
    escrow: Any, provider: Any, create: Any, chain: Any
) -> None:
    eid = create([ONE, ONE], [30 * DAY, DAY], accept=False)
    due = int(escrow.getMilestone(eid, 1).dueDate)
    chain.pending_timestamp = due
    snap = chain.snapshot()
    escrow.acceptEngagement(eid, sender=provider)  # at the due date itself: still fine
    chain.restore(snap)
    chain.pending_timestamp = due + 1
    with ape.reverts(escrow.EscrowAcceptTooLate, id=eid, dueDate=due):
        escrow.acceptEngagement(eid, sender=provider)


def test_client_withdraws_request_everything_back_no_fee(
    escrow: Any, client: Any, provider: Any, treasury: Any, create: Any
) -> None:
    eid = create([ONE, 2 * ONE], accept=False)
    tx = escrow.withdrawRequest(eid, sender=client)
    [event] = tx.decode_logs(escrow.RequestWithdrawn)
    assert event.refunded == 3 * ONE and event.by == client
    assert len(tx.decode_logs(escrow.MilestoneRefunded)) == 2
    assert escrow.owed(ETH, client) == 3 * ONE and escrow.owed(ETH, treasury) == 0
    assert escrow.getEngagement(eid).openMilestones == 0
    with ape.reverts(escrow.EscrowNotPending, id=eid):
        escrow.withdrawRequest(eid, sender=client)
    with ape.reverts(escrow.EscrowNotPending, id=eid):
        escrow.acceptEngagement(eid, sender=provider)


def test_withdraw_request_refused_after_acceptance_and_for_strangers(
    escrow: Any, client: Any, provider: Any, stranger: Any, create: Any
) -> None:
    eid = create([ONE], accept=False)
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=stranger):
        escrow.withdrawRequest(eid, sender=stranger)
    with ape.reverts(escrow.EscrowUnauthorizedCaller, id=eid, caller=provider):
        escrow.withdrawRequest(eid, sender=provider)
    escrow.acceptEngagement(eid, sender=provider)
    with ape.reverts(escrow.EscrowAlreadyAccepted, id=eid):
        escrow.withdrawRequest(eid, sender=client)


def test_card_payer_withdraws_request_to_itself(
    escrow: Any, usdc: Any, funder: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    eid = escrow.fundFor(
        client, provider, usdc, [900], [now + DAY], DAY, arbiter, TERMS, b"\x71" * 32, sender=funder
    ).return_value
    escrow.withdrawRequest(eid, sender=funder)
    assert escrow.owed(usdc, funder) == 900 and escrow.owed(usdc, client) == 0


def test_provider_declines_with_cancel(escrow: Any, client: Any, provider: Any, create: Any) -> None:
    eid = create([ONE], accept=False)
    escrow.cancel(eid, sender=provider)
    assert escrow.owed(ETH, client) == ONE
    with ape.reverts(escrow.EscrowNotPending, id=eid):
        escrow.acceptEngagement(eid, sender=provider)


# ------------------------------------------------------------------ offers: the happy paths


def test_session_offer_books_a_slot_accepted_from_the_start(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    offer = session_offer(provider, arbiter, now)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    assert escrow.offerDigest(offer.as_tuple()) != b"\x00" * 32
    starts = now + 2 * DAY
    chain.pending_timestamp = now
    tx = take(escrow, offer, sig, client, starts, deadline=now + 600)
    eid = tx.return_value
    [created] = tx.decode_logs(escrow.EngagementCreated)
    assert created.client == client and created["provider"] == provider
    assert list(created.dueDates) == [starts + 3600 + 7 * DAY]
    [used] = tx.decode_logs(escrow.OfferUsed)
    assert (used.id, used.nonce, used.bookingRef, used.startsAt) == (eid, 1, BOOKING, starts)
    assert escrow.getEngagement(eid).accepted and escrow.offerUses(provider, 1) == 1
    escrow.submitMilestone(eid, 0, TERMS, sender=provider)  # no acceptance step


def test_custom_offer_keeps_its_signed_schedule(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    offer = custom_offer(provider, arbiter, now, client=client.address)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    eid = take(escrow, offer, sig, client).return_value
    assert escrow.getMilestone(eid, 1).dueDate == offer.dueDates[1]
    assert escrow.isOfferNonceUsed(provider, 1)


def test_standing_offer_serves_exactly_its_uses(
    escrow: Any, client: Any, stranger: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    offer = session_offer(provider, arbiter, now, uses=2, nonce=9)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    take(escrow, offer, sig, client, now + DAY)
    take(escrow, offer, sig, stranger, now + 2 * DAY)  # any learner may take a client-less offer
    with ape.reverts(escrow.EscrowOfferUsedUp, provider=provider, nonce=9, uses=2):
        take(escrow, offer, sig, client, now + 3 * DAY)


def test_card_relayer_funds_an_offer_for_the_client(
    escrow: Any, usdc: Any, funder: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    offer = session_offer(provider, arbiter, now, token=usdc.address, amounts=[25_000_000])
    sig = sign_offer(provider.private_key, escrow.address, offer)
    ref = b"\x72" * 32
    tx = escrow.fundForWithOffer(offer.as_tuple(), sig, client, now + DAY, BOOKING, 2**63, ref, sender=funder)
    e = escrow.getEngagement(tx.return_value)
    assert (e.client, e.payer, e.accepted) == (client, funder, True)
    with ape.reverts(escrow.EscrowExternalRefUsed, externalRef=ref):
        escrow.fundForWithOffer(offer.as_tuple(), sig, client, now + DAY, BOOKING, 2**63, ref, sender=funder)
    with ape.reverts(escrow.AccessControlUnauthorizedAccount):
        escrow.fundForWithOffer(
            offer.as_tuple(), sig, client, now + DAY, BOOKING, 2**63, b"\x73" * 32, sender=client
        )


def test_booking_outside_the_app_can_be_declined_with_no_review(
    escrow: Any, reputation: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    offer = session_offer(provider, arbiter, now)
    eid = take(
        escrow, offer, sign_offer(provider.private_key, escrow.address, offer), client, now + DAY
    ).return_value
    escrow.cancel(eid, sender=provider)
    assert escrow.owed(ETH, client) == offer.amounts[0]
    with ape.reverts(reputation.ReputationBelowMinimum):
        reputation.review(eid, 1, TERMS, sender=client)


# ------------------------------------------------------------------ offers: every refusal


def test_offer_replay_past_uses_reverts(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    offer = custom_offer(provider, arbiter, chain.pending_timestamp, nonce=300)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    take(escrow, offer, sig, client)
    with ape.reverts(escrow.EscrowOfferUsedUp, provider=provider, nonce=300, uses=1):
        take(escrow, offer, sig, client)


def test_offer_signed_for_another_chain_reverts(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    offer = custom_offer(provider, arbiter, chain.pending_timestamp)
    sig = sign_offer(provider.private_key, escrow.address, offer, chain_id=11155111)
    with ape.reverts(escrow.EscrowInvalidSignature, provider=provider):
        take(escrow, offer, sig, client)


def test_offer_replayed_after_chain_id_fork_reverts(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    offer = custom_offer(provider, arbiter, chain.pending_timestamp)
    sig = sign_offer(provider.private_key, escrow.address, offer, chain_id=31337)
    before = escrow.offerDigest(offer.as_tuple())
    chain.provider.make_request("anvil_setChainId", [4242])
    try:
        # A hard fork that changes the chain id: the EIP-712 domain follows block.chainid, so the
        # signature for the old chain no longer verifies (simulated with eth_call: the test
        # accounts sign transactions for 31337 only).
        assert escrow.offerDigest(offer.as_tuple()) != before
        with ape.reverts(escrow.EscrowInvalidSignature, provider=provider):
            escrow.createEngagementWithOffer.call(
                offer.as_tuple(), sig, 0, BOOKING, 2**63, sender=client, value=sum(offer.amounts)
            )
    finally:
        chain.provider.make_request("anvil_setChainId", [31337])
    take(escrow, offer, sig, client)


def test_offer_signed_for_another_contract_reverts(
    project: Any, escrow: Any, admin: Any, treasury: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    other = admin.deploy(project.SkillEscrow, admin, 0, treasury, 250)
    other.grantRole(other.ARBITER_ROLE(), arbiter, sender=admin)
    offer = custom_offer(provider, arbiter, chain.pending_timestamp)
    sig = sign_offer(provider.private_key, escrow.address, offer)  # for `escrow`
    with ape.reverts(other.EscrowInvalidSignature, provider=provider):
        take(other, offer, sig, client)


def test_offer_with_malleable_high_s_signature_reverts(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    offer = custom_offer(provider, arbiter, chain.pending_timestamp)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    with ape.reverts(escrow.EscrowInvalidSignature, provider=provider):
        take(escrow, offer, twin, client)
    take(escrow, offer, sig, client)


def test_expired_offer_reverts(escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any) -> None:
    now = chain.pending_timestamp
    offer = custom_offer(provider, arbiter, now, validUntil=now + HOUR)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    chain.pending_timestamp = now + HOUR + 1
    with ape.reverts(escrow.EscrowOfferExpired, validUntil=now + HOUR):
        take(escrow, offer, sig, client)


def test_cancelled_offer_nonce_reverts_for_both_kinds(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    one_off = custom_offer(provider, arbiter, now, nonce=77)
    standing = session_offer(provider, arbiter, now, nonce=78)
    tx = escrow.cancelOffer(77, sender=provider)
    assert tx.decode_logs(escrow.OfferCancelled)[0].nonce == 77
    escrow.cancelOffer(78, sender=provider)
    with ape.reverts(escrow.EscrowOfferCancelled, provider=provider, nonce=77):
        take(escrow, one_off, sign_offer(provider.private_key, escrow.address, one_off), client)
    with ape.reverts(escrow.EscrowOfferCancelled, provider=provider, nonce=78):
        take(escrow, standing, sign_offer(provider.private_key, escrow.address, standing), client, now + DAY)


def test_offer_from_a_1271_provider_and_a_wrong_owner(
    project: Any, escrow: Any, admin: Any, client: Any, arbiter: Any, chain: Any, accounts: Any
) -> None:
    owner = accounts[8]
    wallet = admin.deploy(project.TestSmartWallet, owner)
    offer = custom_offer(wallet, arbiter, chain.pending_timestamp)
    with ape.reverts(escrow.EscrowInvalidSignature, provider=wallet):
        take(escrow, offer, sign_offer(accounts[9].private_key, escrow.address, offer), client)
    eid = take(escrow, offer, sign_offer(owner.private_key, escrow.address, offer), client).return_value
    assert escrow.getEngagement(eid).provider == wallet


def test_client_bound_offer_taken_by_someone_else_reverts(
    escrow: Any, client: Any, stranger: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    offer = custom_offer(provider, arbiter, chain.pending_timestamp, client=client.address)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    with ape.reverts(escrow.EscrowOfferNotForCaller, client=client, caller=stranger):
        take(escrow, offer, sig, stranger)


@pytest.mark.parametrize("where", ["inside-notice", "past-horizon"])
def test_session_start_outside_notice_or_horizon_reverts(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any, where: str
) -> None:
    now = chain.pending_timestamp + 10
    offer = session_offer(provider, arbiter, now)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    earliest, latest = now + offer.minNotice, now + offer.horizon
    starts = earliest - 1 if where == "inside-notice" else latest + 1
    chain.pending_timestamp = now
    with ape.reverts(escrow.EscrowInvalidStart, startsAt=starts, earliest=earliest, latest=latest):
        take(escrow, offer, sig, client, starts)
    chain.pending_timestamp = now + 1
    take(escrow, offer, sig, client, earliest + 1)  # the edges themselves are fine


def test_call_after_deadline_reverts(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp + 10
    offer = session_offer(provider, arbiter, now)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    chain.pending_timestamp = now
    with ape.reverts(escrow.EscrowDeadlinePassed, deadline=now - 1):
        take(escrow, offer, sig, client, now + DAY, deadline=now - 1)


def test_tampered_offer_terms_revert(
    escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any
) -> None:
    now = chain.pending_timestamp
    offer = session_offer(provider, arbiter, now)
    sig = sign_offer(provider.private_key, escrow.address, offer)
    cheaper = replace(offer, amounts=[offer.amounts[0] // 2])
    with ape.reverts(escrow.EscrowInvalidSignature, provider=provider):
        take(escrow, cheaper, sig, client, now + DAY)


def test_malformed_offers_revert(escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any) -> None:
    now = chain.pending_timestamp
    for bad in (
        session_offer(provider, arbiter, now, uses=0),
        session_offer(provider, arbiter, now, amounts=[1, 1]),
        session_offer(provider, arbiter, now, dueDates=[now + DAY]),
    ):
        with ape.reverts(escrow.EscrowInvalidOffer):
            take(escrow, bad, sign_offer(provider.private_key, escrow.address, bad), client, now + DAY)
    custom = custom_offer(provider, arbiter, now)
    with ape.reverts(escrow.EscrowInvalidStart):
        take(escrow, custom, sign_offer(provider.private_key, escrow.address, custom), client, now + DAY)
