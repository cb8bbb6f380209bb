"""A marketplace driver for indexer tests: random but coherent activity on the real contracts, and a
checker that compares the read model with the contracts' own view functions."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from web3 import Web3
from web3.exceptions import ContractLogicError

from chain.artifacts import load_artifact
from chain.records import DeploymentRecord
from chain.tx import Sender, TransactionFailed, anvil_account
from db.chain import PROJECTION_TABLES, credentials, engagements, escrow_owed, milestones, reputation

ETH = "0x0000000000000000000000000000000000000000"
STATES = ["funded", "submitted", "released", "refunded", "resolved"]


@dataclass
class Market:
    w3: Web3
    record: DeploymentRecord
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __post_init__(self) -> None:
        def contract(name: str, artifact: str | None = None) -> Any:
            return self.w3.eth.contract(
                address=self.record.address_of(name), abi=load_artifact(artifact or name).abi
            )

        self.escrow = contract("SkillEscrow")
        self.reputation = contract("Reputation")
        self.credential = contract("SkillCredential")
        self.usd = contract("TestStablecoin", "MockERC20")
        self.users = [Sender(self.w3, anvil_account(i)) for i in (1, 2, 3, 4, 5, 6)]
        self.issuer = self.users[3]  # account 4: one Sender per key, so nonces never collide
        self.arbiter = Sender(self.w3, anvil_account(9))
        self.admin = Sender(self.w3, anvil_account(0))
        for user in self.users:
            user.call(self.usd.functions.approve(self.escrow.address, 2**255))
        self.open: list[int] = []
        self.credential_ids: list[int] = []

    def reset_nonces(self) -> None:
        """After an anvil revert the accounts' nonces went back too."""
        for sender in {id(s): s for s in [*self.users, self.arbiter, self.admin]}.values():
            sender._nonce = None

    def advance(self, blocks: int) -> None:
        """Act until exactly `blocks` new blocks exist (refused actions mine nothing)."""
        target = self.w3.eth.block_number + blocks
        while self.w3.eth.block_number < target:
            self.step()

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def create(self) -> int:
        client, provider = self.rng.sample(self.users, 2)
        n = self.rng.randint(1, 3)
        amounts = [self.rng.randint(1, 10**6) for _ in range(n)]
        dues = [self._now() + self.rng.randint(3600, 30 * 86400) for _ in range(n)]
        token = self.rng.choice([ETH, self.usd.address])
        fn = self.escrow.functions.createEngagement(
            provider.address, token, amounts, dues, 3600, self.arbiter.address, os.urandom(32)
        )
        client.call(fn, value=sum(amounts) if token == ETH else 0)
        eid = int(self.escrow.functions.engagementCount().call())
        self.open.append(eid)
        return eid

    def _party(self, eid: int, who: str) -> Sender:
        e = self.escrow.functions.getEngagement(eid).call()
        address = e[0] if who == "client" else e[1]
        return next(u for u in self.users if u.address == address)

    def step(self) -> None:
        """One random action; actions the contracts refuse are simply skipped."""
        action = self.rng.choice(
            [
                "create",
                "submit",
                "approve",
                "dispute",
                "resolve",
                "cancel",
                "withdraw",
                "review",
                "credential",
                "revoke",
                "burn",
                "create",
            ]
        )
        try:
            self._do(action)
        except (TransactionFailed, ContractLogicError):  # refused by the contract: fine, skip
            pass

    def _do(self, action: str) -> None:
        if action == "create" or not self.open:
            self.create()
            return
        eid = self.rng.choice(self.open)
        index = self.rng.randint(0, 2)
        if action == "submit":
            self._party(eid, "provider").call(
                self.escrow.functions.submitMilestone(eid, index, os.urandom(32))
            )
        elif action == "approve":
            self._party(eid, "client").call(self.escrow.functions.approveMilestone(eid, index))
        elif action == "dispute":
            self._party(eid, self.rng.choice(["client", "provider"])).call(
                self.escrow.functions.raiseDispute(eid)
            )
        elif action == "resolve":
            self.arbiter.call(self.escrow.functions.resolveDispute(eid, self.rng.randint(0, 10_000)))
        elif action == "cancel":
            self._party(eid, "provider").call(self.escrow.functions.cancel(eid))
        elif action == "withdraw":
            user = self.rng.choice(self.users)
            user.call(self.escrow.functions.withdraw(self.rng.choice([ETH, self.usd.address])))
        elif action == "review":
            who = self.rng.choice(["client", "provider"])
            self._party(eid, who).call(
                self.reputation.functions.review(eid, self.rng.randint(1, 5), os.urandom(32))
            )
        elif action == "credential":
            holder = self.rng.choice([u for u in self.users if u is not self.issuer])
            digest = os.urandom(32)
            expires = self._now() + self.rng.choice([0, 86400 * 365]) if self.rng.random() < 0.5 else 0
            self.issuer.call(
                self.credential.functions.issue(holder.address, os.urandom(32), digest, expires, 0)
            )
            self.credential_ids.append(int.from_bytes(digest, "big"))
        elif action == "revoke" and self.credential_ids:
            self.issuer.call(
                self.credential.functions.revoke(self.rng.choice(self.credential_ids), os.urandom(32))
            )
        elif action == "burn" and self.credential_ids:
            tid = self.rng.choice(self.credential_ids)
            holder = self.credential.functions.verify(tid).call()[1]
            owner = next((u for u in self.users if u.address == holder), None)
            if owner is not None:
                owner.call(self.credential.functions.burn(tid))

    # ------------------------------------------------------------ checks
    def assert_read_model_matches_chain(self, engine: Engine, chain_id: int = 31337) -> None:
        with engine.connect() as conn:
            for row in conn.execute(select(engagements).where(engagements.c.chain_id == chain_id)).mappings():
                e = self.escrow.functions.getEngagement(row["id"]).call()
                assert (row["client"], row["provider"], row["payer"], row["token"]) == (
                    e[0],
                    e[1],
                    e[2],
                    e[3],
                )
                assert row["open_milestones"] == e[8] and row["paid"] == e[9], row["id"]
                assert (row["disputed_at"] or 0) == e[10], row["id"]
            count = len(
                conn.execute(select(engagements.c.id).where(engagements.c.chain_id == chain_id)).all()
            )
            assert count == self.escrow.functions.engagementCount().call()
            for row in conn.execute(select(milestones).where(milestones.c.chain_id == chain_id)).mappings():
                m = self.escrow.functions.getMilestone(row["engagement_id"], row["idx"]).call()
                assert (row["amount"], row["due_date"], row["releasable_at"] or 0) == (m[0], m[1], m[2])
                assert row["state"] == STATES[m[3]], (row["engagement_id"], row["idx"])
            for row in conn.execute(select(escrow_owed).where(escrow_owed.c.chain_id == chain_id)).mappings():
                assert row["amount"] == self.escrow.functions.owed(row["token"], row["account"]).call(), dict(
                    row
                )
            for user in [*self.users, self.admin]:
                for token in (ETH, self.usd.address):
                    owed = self.escrow.functions.owed(token, user.address).call()
                    stored = conn.execute(
                        select(escrow_owed.c.amount).where(
                            escrow_owed.c.chain_id == chain_id,
                            escrow_owed.c.token == token,
                            escrow_owed.c.account == user.address,
                        )
                    ).scalar()
                    assert (stored or 0) == owed
            for row in conn.execute(select(reputation).where(reputation.c.chain_id == chain_id)).mappings():
                agg = self.reputation.functions.reputationOf(row["subject"]).call()
                assert (
                    row["provider_count"],
                    row["provider_sum"],
                    row["client_count"],
                    row["client_sum"],
                ) == tuple(agg)
            for row in conn.execute(select(credentials).where(credentials.c.chain_id == chain_id)).mappings():
                v = self.credential.functions.verify(int(row["token_id"])).call()
                if row["burned"]:
                    assert not v[0]
                else:
                    assert v[0] and v[1] == row["holder"] and v[2] == row["issuer"] and v[6] == row["revoked"]


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row, sorted: two read models are equal when their dumps are."""
    out = {}
    with engine.connect() as conn:
        for name, table in PROJECTION_TABLES.items():
            rows = conn.execute(select(table)).all()
            out[name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out
