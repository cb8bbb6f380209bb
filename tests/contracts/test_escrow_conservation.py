"""Conservation of money in SkillEscrow, as a hypothesis stateful test against an independent model.

The model below is written from DESIGN.md's rules, not from the contract: it decides whether each
random action must succeed or revert and who is owed what. After every step, per token, the escrow's
balance must equal the open escrow plus every unclaimed balance, and each account's claim must match.
`make test` runs a modest number of examples; `make fuzz` (SKILLCHAIN_FUZZ=1) a large one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import ape
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chain.offers import Offer
from tests.contracts.conftest import DAY, ETH, FEE_BPS, HOUR
from tests.contracts.offer_helpers import sign_offer

FUNDED, SUBMITTED, RELEASED, REFUNDED, RESOLVED = range(5)
BPS = 10_000
DISPUTE_TIMEOUT = 14 * DAY
FUZZ = os.environ.get("SKILLCHAIN_FUZZ") == "1"


@dataclass
class Milestone:
    amount: int
    due: int
    state: int = FUNDED
    releasable_at: int = 0
    frozen: bool = False


@dataclass
class Engagement:
    client: str
    provider: str
    payer: str
    token: str
    fee_bps: int
    window: int
    milestones: list[Milestone]
    payer_is_funder: bool
    accepted: bool = False
    disputed_at: int = 0

    def pending(self) -> bool:
        """A request nobody has accepted, withdrawn or declined yet."""
        return not self.accepted and all(m.state == FUNDED for m in self.milestones)


@dataclass
class Model:
    treasury: str
    engagements: dict[int, Engagement] = field(default_factory=dict)
    owed: dict[tuple[str, str], int] = field(default_factory=dict)

    def credit(self, token: str, account: str, amount: int) -> None:
        if amount:
            self.owed[(token, account)] = self.owed.get((token, account), 0) + amount

    def release(self, e: Engagement, m: Milestone) -> None:
        fee = m.amount * e.fee_bps // BPS
        assert fee + (m.amount - fee) == m.amount
        self.credit(e.token, e.provider, m.amount - fee)
        self.credit(e.token, self.treasury, fee)
        m.state = RELEASED

    def refund(self, e: Engagement, m: Milestone) -> None:
        self.credit(e.token, e.payer, m.amount)
        m.state = REFUNDED

    def open_escrow(self, token: str) -> int:
        return sum(
            m.amount
            for e in self.engagements.values()
            if e.token == token
            for m in e.milestones
            if m.state in (FUNDED, SUBMITTED)
        )


def test_escrow_conserves_money_over_random_action_sequences(
    escrow: Any, usdc: Any, accounts: Any, chain: Any, arbiter: Any, treasury: Any, funder: Any, admin: Any
) -> None:
    parties = [accounts[3], accounts[4], accounts[7]]
    for p in [*parties, funder]:
        usdc.mint(p, 10**30, sender=admin)
        usdc.approve(escrow, 2**256 - 1, sender=p)
    by_address = {a.address: a for a in [*parties, arbiter, treasury, funder]}
    tokens = {ETH: None, usdc.address: usdc}

    class EscrowMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = chain.snapshot()
            self.t = chain.pending_timestamp + 10
            self.model = Model(treasury=treasury.address)
            self.refs = 0

        def teardown(self) -> None:
            chain.restore(self.snapshot)

        # -------------------------------------------------------- helpers
        def tx(self, ok: bool, fn: Any, *args: Any, **kw: Any) -> Any:
            chain.pending_timestamp = self.t
            if ok:
                receipt = fn(*args, **kw)
                mined_at = chain.blocks.head.timestamp
                assert mined_at == self.t, f"{fn} mined at {mined_at}, the model's clock says {self.t}"
                self.t += 1
                return receipt
            try:
                with ape.reverts():
                    fn(*args, **kw)
            except AssertionError:
                raise AssertionError(
                    f"{fn}{args} succeeded on-chain but the model expected a revert; "
                    f"model time {self.t}, chain head time {chain.blocks.head.timestamp}"
                ) from None
            return None

        def pick(self, data: Any) -> tuple[int, Engagement] | None:
            if not self.model.engagements:
                return None
            eid = data.draw(st.sampled_from(sorted(self.model.engagements)))
            return eid, self.model.engagements[eid]

        # -------------------------------------------------------- rules
        @rule(
            data=st.data(),
            amounts=st.lists(st.integers(1, 10**18), min_size=1, max_size=3),
            window=st.integers(HOUR, 3 * DAY),
            use_token=st.booleans(),
            by_funder=st.booleans(),
            via_offer=st.booleans(),
        )
        def create(
            self,
            data: Any,
            amounts: list[int],
            window: int,
            use_token: bool,
            by_funder: bool,
            via_offer: bool,
        ) -> None:
            client, provider = data.draw(st.permutations(parties))[:2]
            dues = [self.t + data.draw(st.integers(HOUR, 30 * DAY)) for _ in amounts]
            token = usdc.address if (use_token or by_funder) else ETH
            self.refs += 1
            ref = self.refs.to_bytes(32, "big")
            if via_offer:
                # A one-off custom offer the provider signed: accepted from the start.
                offer = Offer(
                    provider=provider.address,
                    token=token,
                    amounts=amounts,
                    dueDates=dues,
                    reviewWindow=window,
                    arbiter=arbiter.address,
                    termsDigest=b"\x01" * 32,
                    nonce=self.refs,
                    validUntil=self.t + DAY,
                )
                sig = sign_offer(provider.private_key, escrow.address, offer)
                if by_funder:
                    receipt = self.tx(
                        True,
                        escrow.fundForWithOffer,
                        offer.as_tuple(),
                        sig,
                        client,
                        0,
                        ref,
                        2**63,
                        ref,
                        sender=funder,
                    )
                else:
                    receipt = self.tx(
                        True,
                        escrow.createEngagementWithOffer,
                        offer.as_tuple(),
                        sig,
                        0,
                        ref,
                        2**63,
                        sender=client,
                        value=sum(amounts) if token == ETH else 0,
                    )
            elif by_funder:
                receipt = self.tx(
                    True,
                    escrow.fundFor,
                    client,
                    provider,
                    token,
                    amounts,
                    dues,
                    window,
                    arbiter,
                    b"\x01" * 32,
                    ref,
                    sender=funder,
                )
            else:
                value = sum(amounts) if token == ETH else 0
                receipt = self.tx(
                    True,
                    escrow.createEngagement,
                    provider,
                    token,
                    amounts,
                    dues,
                    window,
                    arbiter,
                    b"\x01" * 32,
                    sender=client,
                    value=value,
                )
            eid = int(receipt.return_value)
            payer = funder.address if by_funder else client.address
            self.model.engagements[eid] = Engagement(
                client=client.address,
                provider=provider.address,
                payer=payer,
                token=token,
                fee_bps=FEE_BPS,
                window=window,
                milestones=[Milestone(a, d) for a, d in zip(amounts, dues, strict=True)],
                payer_is_funder=by_funder,
                accepted=via_offer,
            )

        @rule(data=st.data())
        def accept(self, data: Any) -> None:
            picked = self.pick(data)
            if picked is None:
                return
            eid, e = picked
            ok = e.pending() and all(self.t <= m.due for m in e.milestones)
            if self.tx(ok, escrow.acceptEngagement, eid, sender=by_address[e.provider]):
                e.accepted = True

        @rule(data=st.data(), by_payer=st.booleans())
        def withdraw_request(self, data: Any, by_payer: bool) -> None:
            picked = self.pick(data)
            if picked is None:
                return
            eid, e = picked
            caller = e.payer if by_payer else e.client
            if self.tx(e.pending(), escrow.withdrawRequest, eid, sender=by_address[caller]):
                for m in e.milestones:
                    self.model.refund(e, m)

        @rule(data=st.data(), index=st.integers(0, 2))
        def submit(self, data: Any, index: int) -> None:
            picked = self.pick(data)
            if picked is None:
                return
            eid, e = picked
            if index >= len(e.milestones):
                return
            m = e.milestones[index]
            ok = e.accepted and not m.frozen and m.state == FUNDED
            if self.tx(ok, escrow.submitMilestone, eid, index, b"\x02" * 32, sender=by_address[e.provider]):
                m.state, m.releasable_at = SUBMITTED, self.t - 1 + e.window

        @rule(data=st.data(), index=st.integers(0, 2))
        def approve(self, data: Any, index: int) -> None:
            picked = self.pick(data)
            if picked is None or index >= len(picked[1].milestones):
                return
            eid, e = picked
            m = e.milestones[index]
            ok = e.accepted and not m.frozen and m.state in (FUNDED, SUBMITTED)
            if self.tx(ok, escrow.approveMilestone, eid, index, sender=by_address[e.client]):
                self.model.release(e, m)

        @rule(data=st.data(), index=st.integers(0, 2))
        def auto_release(self, data: Any, index: int) -> None:
            picked = self.pick(data)
            if picked is None or index >= len(picked[1].milestones):
                return
            eid, e = picked
            m = e.milestones[index]
            ok = not m.frozen and m.state == SUBMITTED and self.t >= m.releasable_at
            if self.tx(ok, escrow.autoRelease, eid, index, sender=arbiter):
                self.model.release(e, m)

        @rule(data=st.data(), who=st.sampled_from(["client", "provider", "payer"]))
        def dispute(self, data: Any, who: str) -> None:
            picked = self.pick(data)
            if picked is None:
                return
            eid, e = picked
            caller = getattr(e, who)
            client_side = caller == e.client or (caller == e.payer and e.payer_is_funder)
            allowed = client_side or caller == e.provider
            # While a dispute is open, newly eligible milestones join it and its timeout restarts.
            eligible = [
                m
                for m in e.milestones
                if not m.frozen
                and (
                    (m.state == SUBMITTED and client_side and self.t < m.releasable_at)
                    or (m.state == FUNDED and self.t > m.due)
                )
            ]
            ok = e.accepted and allowed and bool(eligible)
            if self.tx(ok, escrow.raiseDispute, eid, sender=by_address[caller]):
                for m in eligible:
                    m.frozen = True
                e.disputed_at = self.t - 1

        @rule(data=st.data(), share=st.integers(0, BPS))
        def resolve(self, data: Any, share: int) -> None:
            picked = self.pick(data)
            if picked is None:
                return
            eid, e = picked
            if self.tx(bool(e.disputed_at), escrow.resolveDispute, eid, share, sender=arbiter):
                for m in e.milestones:
                    if m.frozen:
                        gross = m.amount * share // BPS
                        fee = gross * e.fee_bps // BPS
                        self.model.credit(e.token, e.provider, gross - fee)
                        self.model.credit(e.token, self.model.treasury, fee)
                        self.model.credit(e.token, e.payer, m.amount - gross)
                        m.state, m.frozen = RESOLVED, False
                e.disputed_at = 0

        @rule(data=st.data())
        def settle_expired(self, data: Any) -> None:
            picked = self.pick(data)
            if picked is None:
                return
            eid, e = picked
            ok = bool(e.disputed_at) and self.t >= e.disputed_at + DISPUTE_TIMEOUT
            if self.tx(ok, escrow.settleExpiredDispute, eid, sender=treasury):
                for m in e.milestones:
                    if not m.frozen:
                        continue
                    m.frozen = False
                    on_time = m.state == SUBMITTED and m.releasable_at - e.window <= m.due
                    if on_time:
                        self.model.release(e, m)
                    else:
                        self.model.refund(e, m)
                e.disputed_at = 0

        @rule(data=st.data(), by_provider=st.booleans())
        def cancel(self, data: Any, by_provider: bool) -> None:
            picked = self.pick(data)
            if picked is None:
                return
            eid, e = picked
            refundable = [
                m
                for m in e.milestones
                if not m.frozen
                and (
                    m.state in (FUNDED, SUBMITTED) if by_provider else (m.state == FUNDED and self.t > m.due)
                )
            ]
            ok = (by_provider or e.accepted) and bool(refundable)
            caller = e.provider if by_provider else e.client
            if self.tx(ok, escrow.cancel, eid, sender=by_address[caller]):
                for m in refundable:
                    self.model.refund(e, m)

        @rule(who=st.sampled_from(range(6)), use_token=st.booleans())
        def withdraw(self, who: int, use_token: bool) -> None:
            account = [*parties, treasury, funder, arbiter][who]
            token = usdc.address if use_token else ETH
            amount = self.model.owed.get((token, account.address), 0)
            if self.tx(amount > 0, escrow.withdraw, token, sender=account):
                self.model.owed[(token, account.address)] = 0

        @rule(seconds=st.sampled_from([1, 59, HOUR, DAY, 3 * DAY, 15 * DAY]))
        def warp(self, seconds: int) -> None:
            self.t += seconds

        @precondition(lambda self: True)
        @invariant()
        def balances_are_conserved(self) -> None:
            for token, contract in tokens.items():
                held = escrow.balance if contract is None else contract.balanceOf(escrow)
                owed = sum(v for (tk, _), v in self.model.owed.items() if tk == token)
                assert held == self.model.open_escrow(token) + owed, f"token {token}"
                for (tk, account), value in self.model.owed.items():
                    if tk == token:
                        assert escrow.owed(token, account) == value, (token, account)

    run_state_machine_as_test(
        EscrowMachine,
        settings=settings(
            max_examples=200 if FUZZ else 8,
            stateful_step_count=50 if FUZZ else 25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=not FUZZ,
            # Shrinking replays many chain transactions; the quick run reports the raw failing sequence.
            phases=list(Phase) if FUZZ else [Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
