"""Turning user input into IPFS documents: a field the document refuses (contact data in free text,
too long, ...) is the client's mistake, answered with 400 and the reasons — never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import HTTPException
from pydantic import ValidationError
from sqlalchemy import Connection, select, update

from db.documents import stored_documents
from ipfs.errors import DocumentTooLarge
from ipfs.metadata import PublicDocument
from ipfs.store import ContentStore


@contextmanager
def document_input() -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}" for e in exc.errors()
        )
        raise HTTPException(400, f"document rejected: {problems}") from None
    except DocumentTooLarge as exc:
        raise HTTPException(400, str(exc)) from None


def digest_hex(document: PublicDocument) -> str:
    """The 0x-hex sha2-256 digest the contracts store for `document`."""
    with document_input():
        return "0x" + document.digest().hex()


DocumentKind = Literal[
    "terms", "deliverable", "evidence", "comment", "credential", "voucher", "revocation", "offer", "checkout"
]


def store_document(
    store: ContentStore,
    document: PublicDocument,
    *,
    conn: Connection,
    kind: DocumentKind,
    keep_until: int | None = None,
    engagement: tuple[int, int] | None = None,
) -> tuple[str, str]:
    """Stores (and pins) a document and records it for `skillchain ipfs gc`: its CID and digest.

    Call it once the transaction naming the document was simulated, so a refused call stores
    nothing. `keep_until` keeps a document only a signature names (an offer, a voucher) while that
    signature is valid; `engagement` (chain id, id) ties evidence to its dispute.
    """
    digest = digest_hex(document)
    cid = store.add_bytes(document.to_bytes(), cid_version=1).cid
    record_document(conn, cid=cid, digest=digest, kind=kind, keep_until=keep_until, engagement=engagement)
    return cid, digest


def record_document(
    conn: Connection,
    *,
    cid: str,
    digest: str,
    kind: DocumentKind,
    keep_until: int | None = None,
    engagement: tuple[int, int] | None = None,
) -> None:
    """Insert the store's record of a document, or extend an existing one (the same bytes stored
    again, maybe by another route, are kept as long as the longest need)."""
    known = conn.execute(select(stored_documents.c.keep_until).where(stored_documents.c.cid == cid)).first()
    if known is None:
        conn.execute(
            stored_documents.insert().values(
                cid=cid,
                digest=digest,
                kind=kind,
                created_at=int(time.time()),
                keep_until=keep_until,
                chain_id=engagement[0] if engagement else None,
                engagement_id=engagement[1] if engagement else None,
            )
        )
    else:
        # A fresh store resets the grace: the new transaction naming it may not be mined yet.
        longest = max(keep_until or 0, known.keep_until or 0) or None
        conn.execute(
            update(stored_documents)
            .where(stored_documents.c.cid == cid)
            .values(created_at=int(time.time()), keep_until=longest)
        )
