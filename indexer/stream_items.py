"""The outbox items of indexed events: whom each concerns, decided from the read model in the same
transaction (so the parties of an engagement created in this very batch are known).

An event concerns every address its arguments name, and every party of the engagement it names
(client, provider, payer — the card relayer — and arbiter), whoever caused it: the learner hears
that the mentor submitted, the mentor that the arbiter resolved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from bus.outbox import OutboxItem, addresses_in, json_safe
from db.chain import credentials, engagements
from indexer.decode import DecodedEvent


def _engagement_id(event: DecodedEvent) -> int | None:
    key = "id" if event.contract == "SkillEscrow" else "engagementId"
    value = event.args.get(key)
    return int(value) if isinstance(value, int) and value > 0 else None


def event_items(conn: Connection, chain_id: int, events: list[DecodedEvent]) -> list[OutboxItem]:
    if not events:
        return []
    ids = {i for i in (_engagement_id(e) for e in events) if i is not None}
    parties: dict[int, set[str]] = {}
    if ids:
        for row in conn.execute(
            select(
                engagements.c.id,
                engagements.c.client,
                engagements.c.provider,
                engagements.c.payer,
                engagements.c.arbiter,
            ).where(engagements.c.chain_id == chain_id, engagements.c.id.in_(ids))
        ):
            parties[int(row.id)] = {row.client, row.provider, row.payer, row.arbiter}
    tokens = {
        str(e.args["tokenId"]) for e in events if e.contract == "SkillCredential" and "tokenId" in e.args
    }
    holders: dict[str, set[str]] = {}
    if tokens:  # a revocation names only the token and who revoked: its holder must hear it too
        for token_id, holder, issuer in conn.execute(
            select(credentials.c.token_id, credentials.c.holder, credentials.c.issuer).where(
                credentials.c.chain_id == chain_id, credentials.c.token_id.in_(tokens)
            )
        ):
            holders[str(token_id)] = {holder, issuer}
    items = []
    for e in events:
        engagement = _engagement_id(e)
        audience = addresses_in(e.args.values()) | parties.get(engagement or 0, set())
        if e.contract == "SkillCredential" and "tokenId" in e.args:
            audience |= holders.get(str(e.args["tokenId"]), set())
        payload: dict[str, Any] = {
            "name": e.name,
            "contract": e.contract,
            "chain_id": chain_id,
            "block": e.block_number,
            "tx": e.tx_hash,
            "log_index": e.log_index,
            "engagement_id": engagement,
            "args": json_safe(e.args),
        }
        items.append(
            OutboxItem(
                kind="chain_event",
                audience=frozenset(audience),
                payload=payload,
                chain_id=chain_id,
                block_number=e.block_number,
            )
        )
    return items
