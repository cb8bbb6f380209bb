"""`skillchain ipfs gc`: unpin the documents nobody needs any more, then free their blocks.

The database says what is still needed, the store holds the pins; this module joins the two (so
`ipfs/` keeps importing no `db/`). A pinned document is kept when:

- the chain names its digest (the read model's terms, deliverables, review comments, credential
  metadata — the token id is the digest — and revocation reasons);
- only a signature names it and the signature can still be used (an offer until `validUntil`, a
  voucher until its validity ends, a card checkout while its session can complete);
- it is evidence of a dispute that is not settled, or was settled less than the retention ago
  (counted from the first gc that saw it settled);
- it was stored less than the grace ago (its transaction may not be mined yet), or the operator
  pinned it by hand (`skillchain ipfs add`).

Everything else is unpinned and its record deleted; pins the API never recorded are adopted on first
sight and judged a grace later. On the embedded store the unreachable blocks are then deleted; a
Kubo node frees them in its own repository gc.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, delete, insert, select, union, update

from db.chain import credentials, engagements, milestones, reviews
from db.documents import stored_documents
from ipfs.cid import cid_to_digest
from ipfs.errors import IpfsError
from ipfs.store import ContentStore, EmbeddedStore

CLOSED = ("settled", "withdrawn", "declined")
ZERO_DIGEST = "0x" + "00" * 32


class GcReport(BaseModel):
    """What a gc run kept (by reason) and removed."""

    pins: int = Field(description="pins in the store before the run")
    kept: dict[str, int] = Field(description="documents kept, by reason")
    removed: list[str] = Field(description="CIDs unpinned (and deleted from the records)")
    blocks_freed: int | None = Field(description="blocks deleted from the embedded store (None: Kubo)")
    dry_run: bool


def chain_named_digests(conn: Connection) -> set[str]:
    """Every document digest the indexed chain state names, lower-case 0x hex."""
    named = union(
        select(engagements.c.terms_digest.label("d")),
        select(milestones.c.deliverable_digest).where(milestones.c.deliverable_digest.is_not(None)),
        select(reviews.c.comment_digest),
        select(credentials.c.revoke_reason).where(credentials.c.revoke_reason.is_not(None)),
    )
    digests = {str(d).lower() for d in conn.execute(named).scalars()}
    for token_id in conn.execute(select(credentials.c.token_id)).scalars():
        digests.add("0x" + int(token_id).to_bytes(32, "big").hex())
    digests.discard(ZERO_DIGEST)
    return digests


def _digest_of(cid: str) -> str | None:
    try:
        return "0x" + cid_to_digest(cid).hex()
    except (IpfsError, ValueError):
        return None  # not a single-block document: no contract can name it


def collect(
    engine: Engine,
    store: ContentStore,
    *,
    now: int,
    grace: int,
    evidence_retention: int,
    dry_run: bool = False,
    log: Callable[[str], None] = lambda _line: None,
) -> GcReport:
    """One gc run at time `now` (injected, so tests never sleep)."""
    pins = store.pins()
    kept: Counter[str] = Counter()
    removed: list[str] = []
    with engine.begin() as conn:
        named = chain_named_digests(conn)
        records = {r.cid: r for r in conn.execute(select(stored_documents)).all()}
        closed = {
            (r.chain_id, r.id)
            for r in conn.execute(
                select(engagements.c.chain_id, engagements.c.id).where(engagements.c.status.in_(CLOSED))
            )
        }
        for cid in pins:
            record = records.get(cid)
            digest = record.digest.lower() if record else _digest_of(cid)
            if digest is not None and digest in named:
                kept["named by the chain"] += 1
                continue
            if record is None:
                # Not stored by the API since records began (or a crash between pinning and
                # committing): adopted now, judged a grace later like any fresh document.
                if not dry_run:
                    conn.execute(
                        insert(stored_documents).values(
                            cid=cid, digest=digest or "", kind="unrecorded", created_at=now
                        )
                    )
                kept["within the grace"] += 1
                continue
            if record.kind == "pinned":
                kept["pinned by the operator"] += 1
                continue
            if record.created_at + grace > now:
                kept["within the grace"] += 1
                continue
            if record.kind == "evidence":
                if (record.chain_id, record.engagement_id) not in closed:
                    kept["evidence of an open dispute"] += 1
                    continue
                if record.keep_until is None:  # first seen settled: the retention starts now
                    if not dry_run:
                        conn.execute(
                            update(stored_documents)
                            .where(stored_documents.c.cid == cid)
                            .values(keep_until=now + evidence_retention)
                        )
                    kept["evidence within its retention"] += 1
                    continue
            if record.keep_until is not None and record.keep_until > now:
                kept[
                    "evidence within its retention" if record.kind == "evidence" else "signature still valid"
                ] += 1
                continue
            removed.append(cid)
        if not dry_run:
            for cid in removed:
                try:
                    store.unpin(cid)
                except IpfsError as exc:  # already gone, or the node refused: the record goes anyway
                    log(f"could not unpin {cid}: {exc}")
                conn.execute(delete(stored_documents).where(stored_documents.c.cid == cid))
                log(f"unpinned {cid}")
    freed = None
    if isinstance(store, EmbeddedStore):
        freed = 0 if dry_run else store.gc()
    return GcReport(pins=len(pins), kept=dict(kept), removed=removed, blocks_freed=freed, dry_run=dry_run)
