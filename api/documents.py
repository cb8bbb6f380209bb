"""Turning user input into IPFS documents: a field the document refuses (contact data in free text,
too long, ...) is the client's mistake, answered with 400 and the reasons — never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from pydantic import ValidationError

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


def store_document(store: ContentStore, document: PublicDocument) -> tuple[str, str]:
    """Stores (and pins) a document: its CID and digest. Call it once the transaction naming the
    document was simulated, so a refused call stores nothing."""
    digest = digest_hex(document)
    return store.add_bytes(document.to_bytes(), cid_version=1).cid, digest
