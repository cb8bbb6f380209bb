"""uint256 amounts survive the bulk write paths (COPY on PostgreSQL, text columns on SQLite) exactly."""

from __future__ import annotations

from sqlalchemy import Engine, select

from db.chain import engagements, escrow_owed, milestones
from indexer.decode import DecodedEvent
from indexer.project import Projector

ETH = "0x0000000000000000000000000000000000000000"
CLIENT = "0x1111111111111111111111111111111111111111"
PROVIDER = "0x2222222222222222222222222222222222222222"
BIG = 2**128 - 1  # the contract's largest milestone


def _event(name: str, log_index: int, **args: object) -> DecodedEvent:
    return DecodedEvent(
        31337, 7, "0x" + "ab" * 32, log_index, "0x" + "cd" * 32, "0xescrow", "SkillEscrow", name, args
    )


def test_amounts_beyond_64_bits_are_stored_exactly(engine: Engine) -> None:
    created = _event(
        "EngagementCreated",
        0,
        id=1,
        client=CLIENT,
        provider=PROVIDER,
        payer=CLIENT,
        token=ETH,
        arbiter="0x3333333333333333333333333333333333333333",
        feeBps=0,
        reviewWindow=3600,
        amounts=[BIG, BIG],
        dueDates=[2**40 - 1, 2**40 - 1],
        termsDigest="0x" + "00" * 32,
        externalRef="0x" + "00" * 32,
    )
    accepted = _event("EngagementAccepted", 1, id=1, provider=PROVIDER)
    released = _event("MilestoneReleased", 2, id=1, index=0, provider=PROVIDER, amount=BIG, fee=0)
    with engine.begin() as conn:
        Projector().apply(conn, 31337, [created, accepted, released], journal_block=None)
    with engine.connect() as conn:
        total = conn.execute(select(engagements.c.total_amount)).scalar_one()
        amounts = sorted(int(a) for a in conn.execute(select(milestones.c.amount)).scalars())
        owed = conn.execute(
            select(escrow_owed.c.amount).where(escrow_owed.c.account == PROVIDER)
        ).scalar_one()
    assert int(total) == 2 * BIG
    assert amounts == [BIG, BIG]
    assert int(owed) == BIG
