"""`skillchain ipfs gc`: keeps what the chain names, what valid signatures name, evidence until
settlement plus the retention, fresh and hand-pinned documents; removes the rest and frees blocks."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from chain.tx import anvil_account
from db.chain import credentials, engagements, milestones
from db.documents import stored_documents
from db.engine import make_engine
from db.migrate import upgrade
from ipfs.errors import BlockNotFound
from ipfs.store import EmbeddedStore
from skillchain.storage_gc import collect
from tests.api.conftest_chain import Stack

T = 1_800_000_000
DAY = 86400
GRACE = DAY
RETENTION = 30 * DAY
CLIENT, PROVIDER = anvil_account(1), anvil_account(2)


def _engagement(engine: Engine, eid: int, *, status: str, terms: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(engagements).values(
                chain_id=31337,
                id=eid,
                client=CLIENT.address,
                provider=PROVIDER.address,
                payer=CLIENT.address,
                token="0x" + "00" * 20,
                arbiter=PROVIDER.address,
                fee_bps=0,
                review_window=0,
                terms_digest=terms,
                external_ref="0x" + "00" * 32,
                total_amount=1,
                open_milestones=1,
                paid=False,
                status=status,
                created_block=1,
                created_tx="0x" + "11" * 32,
            )
        )


class Docs:
    """Documents put in a real embedded store and recorded as the API records them."""

    def __init__(self, engine: Engine, store: EmbeddedStore) -> None:
        self.engine, self.store = engine, store

    def add(self, text: str, kind: str, *, age: int = 2 * DAY, **record: object) -> tuple[str, str]:
        data = json.dumps({"text": text}).encode()
        cid = self.store.add_bytes(data, cid_version=1).cid
        digest = "0x" + hashlib.sha256(data).hexdigest()
        with self.engine.begin() as conn:
            conn.execute(
                insert(stored_documents).values(
                    cid=cid, digest=digest, kind=kind, created_at=T - age, **record
                )
            )
        return cid, digest

    def present(self, cid: str) -> bool:
        try:
            b"".join(self.store.cat(cid))
        except BlockNotFound:
            return False
        return True


@pytest.fixture
def docs(database_url: str, tmp_path: Path) -> Docs:
    engine = make_engine(database_url)
    upgrade(engine)
    return Docs(engine, EmbeddedStore(tmp_path / "ipfs"))


def _gc(docs: Docs, now: int, *, dry_run: bool = False) -> list[str]:
    report = collect(
        docs.engine, docs.store, now=now, grace=GRACE, evidence_retention=RETENTION, dry_run=dry_run
    )
    return sorted(report.removed)


def test_named_by_the_chain_is_kept_the_unnamed_removed_and_its_blocks_freed(docs: Docs) -> None:
    terms, terms_digest = docs.add("terms", "terms")
    deliverable, deliverable_digest = docs.add("deliverable", "deliverable")
    orphan, _ = docs.add("never sent", "terms")
    metadata, metadata_digest = docs.add("credential", "credential")
    _engagement(docs.engine, 1, status="active", terms=terms_digest)
    with docs.engine.begin() as conn:
        conn.execute(
            insert(milestones).values(
                chain_id=31337,
                engagement_id=1,
                idx=0,
                amount=1,
                due_date=T,
                state="submitted",
                deliverable_digest=deliverable_digest,
            )
        )
        conn.execute(
            insert(credentials).values(
                chain_id=31337,
                token_id=str(int(metadata_digest, 16)),
                holder=CLIENT.address,
                issuer=PROVIDER.address,
                skill_id="0x" + "22" * 32,
                issued_at=T,
                expires_at=0,
                engagement_id=1,
                revoked=False,
                burned=False,
                block_number=1,
                tx_hash="0x" + "33" * 32,
            )
        )
    assert _gc(docs, T, dry_run=True) == [orphan] and docs.present(orphan)  # a dry run changes nothing
    assert _gc(docs, T) == [orphan]
    assert not docs.present(orphan) and orphan not in docs.store.pins()
    assert all(docs.present(c) for c in (terms, deliverable, metadata))
    with docs.engine.begin() as conn:
        assert (
            conn.execute(select(stored_documents.c.cid).where(stored_documents.c.cid == orphan)).first()
            is None
        )


def test_fresh_documents_wait_for_the_grace(docs: Docs) -> None:
    fresh, _ = docs.add("just prepared", "deliverable", age=60)
    assert _gc(docs, T) == []
    assert _gc(docs, T + GRACE) == [fresh]


def test_offers_and_vouchers_stay_while_their_signature_can_be_used(docs: Docs) -> None:
    offer, _ = docs.add("offer terms", "offer", keep_until=T + 3600)
    voucher, _ = docs.add("voucher metadata", "voucher", keep_until=T + 7 * DAY)
    assert _gc(docs, T) == []
    assert _gc(docs, T + 3601) == [offer]
    assert _gc(docs, T + 7 * DAY + 1) == [voucher]


def test_evidence_lasts_the_dispute_then_the_retention(docs: Docs) -> None:
    _engagement(docs.engine, 7, status="disputed", terms="0x" + "44" * 32)
    evidence, _ = docs.add("it was late", "evidence", chain_id=31337, engagement_id=7)
    assert _gc(docs, T + 365 * DAY) == []  # an open dispute keeps it however long it takes
    with docs.engine.begin() as conn:
        conn.execute(update(engagements).where(engagements.c.id == 7).values(status="settled"))
    settled_seen = T + 400 * DAY
    assert _gc(docs, settled_seen) == []  # the retention starts when gc first sees it settled
    assert _gc(docs, settled_seen + RETENTION - 1) == []
    assert _gc(docs, settled_seen + RETENTION + 1) == [evidence]


def test_unrecorded_pins_are_adopted_then_judged_and_hand_pins_kept(docs: Docs, tmp_path: Path) -> None:
    stray = docs.store.add_bytes(b'{"stray": true}', cid_version=1).cid  # pinned, never recorded
    mine, _ = docs.add("operator's file", "pinned", age=400 * DAY)
    assert _gc(docs, T) == []
    assert _gc(docs, T + GRACE - 1) == []
    assert _gc(docs, T + GRACE) == [stray]
    assert docs.present(mine)


def test_the_api_records_what_it_stores_and_gc_keeps_what_was_sent(stack: Stack) -> None:
    c = stack.client
    client = stack.sign_in(CLIENT)
    due = int(time.time()) + 7 * DAY

    def prepare(title: str) -> dict[str, object]:
        r = c.post(
            "/engagements/prepare",
            headers=client,
            json={
                "provider": PROVIDER.address,
                "title": title,
                "skill": "solidity",
                "milestones": [{"title": "Week 1", "amount": str(10**15), "due_date": due}],
            },
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    sent, abandoned = prepare("Sent and mined"), prepare("Prepared, never sent")
    stack.send(CLIENT, sent["tx"])  # type: ignore[arg-type]
    stack.index()
    engine = make_engine(stack.settings.effective_database_url)
    with engine.begin() as conn:
        kinds = dict(conn.execute(select(stored_documents.c.cid, stored_documents.c.kind)).all())
    assert kinds[str(sent["document_cid"])] == "terms" and kinds[str(abandoned["document_cid"])] == "terms"
    store = EmbeddedStore(stack.settings.data_dir / "ipfs")
    later = int(time.time()) + stack.settings.ipfs_gc_grace + 1
    report = collect(
        engine, store, now=later, grace=stack.settings.ipfs_gc_grace, evidence_retention=RETENTION
    )
    assert str(abandoned["document_cid"]) in report.removed
    assert str(sent["document_cid"]) not in report.removed and report.kept["named by the chain"] >= 1
    assert c.get(f"/ipfs/{sent['document_cid']}").status_code == 200
    assert c.get(f"/ipfs/{abandoned['document_cid']}").status_code == 404


def test_cli_gc_prints_its_report_as_json(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from skillchain.cli import app

    monkeypatch.setenv("SKILLCHAIN_DATA_DIR", str(stack.settings.data_dir))
    monkeypatch.setenv("SKILLCHAIN_DATABASE_URL", stack.settings.effective_database_url)
    result = CliRunner().invoke(app, ["ipfs", "gc", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dry_run"] is True and report["pins"] >= 1 and "kept" in report
