"""Projections: decoded events -> read-model rows, one batch at a time.

A batch first loads every row its events touch (bulk IN queries), applies the events in memory in
log order, then writes the changed rows back (delete + insert, executemany). Handlers are upsert-
style and keyed by on-chain identities, so applying the same range twice changes nothing (the raw
event table's primary key refuses the duplicates first). Within the unfinalised window the previous
version of every changed row goes to the reorg journal so a rollback can restore it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table

from db.chain import (
    PROJECTION_TABLES,
    chain_events,
    reorg_journal,
)
from indexer.decode import RAW_EVENT_COLUMNS, DecodedEvent, raw_event_rows

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ISSUER_ROLE = "0x114e74f6ea3bd819998f78687bfcb11b140da08e9b7d222fa9c1f1ba1f2aa122"
PK: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in table.primary_key.columns) for name, table in PROJECTION_TABLES.items()
}
Row = dict[str, Any]
if tuple(c.name for c in chain_events.columns) != RAW_EVENT_COLUMNS:  # the tuples below follow this order
    raise RuntimeError("chain_events columns changed: update RAW_EVENT_COLUMNS and raw_event_rows")


def _jsonable(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)  # exact in JSON for any client
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


_UINT256_COLUMNS = {"amount", "total_amount", "offer_nonce"}


def _key_getter(table: str) -> Callable[[Row], tuple[Any, ...]]:
    names = PK[table]
    if len(names) == 1:
        only = names[0]
        return lambda row: (row[only],)
    return itemgetter(*names)  # a tuple for two or more names


def _params_getter(table: Table, *, text_uint256: bool) -> Callable[[Row], tuple[Any, ...]]:
    """row -> the table's columns in order, uint256 columns as decimal text where the database's
    integers stop at 2**63 (SQLite). Generated once per table: this runs for every written row."""
    parts = [
        f"str(r[{c.name!r}]) if r[{c.name!r}] is not None else None"
        if text_uint256 and c.name in _UINT256_COLUMNS
        else f"r[{c.name!r}]"
        for c in table.columns
    ]
    source = f"lambda r: ({', '.join(parts)},)"
    getter: Callable[[Row], tuple[Any, ...]] = eval(source)  # noqa: S307 - built from our own schema
    return getter


KEY = {name: _key_getter(name) for name in PROJECTION_TABLES}
PARAMS = {
    (name, text): _params_getter(table, text_uint256=text)
    for name, table in PROJECTION_TABLES.items()
    for text in (False, True)
}


def _driver_cursor(conn: Connection) -> Any:
    """A cursor of the DB-API connection under `conn` (inside its transaction)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _placeholder(conn: Connection) -> str:
    return "%s" if conn.dialect.name == "postgresql" else "?"


class BulkWriter:
    """Bulk inserts through the DB-API cursor: COPY on PostgreSQL, executemany with a prepared
    statement on SQLite. The SQLAlchemy Core per-row parameter processing costs more than the
    database's own insert on this path."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.mark = _placeholder(conn)

    def _cursor(self) -> Any:
        return _driver_cursor(self.conn)

    def insert(self, table: Table, rows: list[Row]) -> None:
        if rows:
            to_params = PARAMS[table.name, not self.postgres]
            self.insert_tuples(table, [to_params(row) for row in rows])

    def insert_tuples(self, table: Table, params: list[tuple[Any, ...]]) -> None:
        """Rows already in the table's column order (and already in a form the database takes)."""
        if not params:
            return
        columns = [c.name for c in table.columns]
        cursor = self._cursor()
        # Table and column names come from our own schema, never from input.
        if self.postgres:  # COPY: one stream instead of a statement per row (measured 4x faster)
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
        else:
            placeholders = ", ".join([self.mark] * len(columns))
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, params)
        cursor.close()

    def delete(self, table: Table, pk: tuple[str, ...], keys: list[tuple[Any, ...]]) -> None:
        if not keys:
            return
        where = " AND ".join(f"{name} = {self.mark}" for name in pk)
        cursor = self._cursor()
        cursor.executemany(f"DELETE FROM {table.name} WHERE {where}", keys)  # noqa: S608 - schema names
        cursor.close()


class Batch:
    """The rows of one batch: loaded once, changed in memory, written back once.

    A row in `rows` belongs to the batch: handlers may change it in place and `put` it back (what the
    database held is kept apart, as a copy, in `original`, for the delete and the reorg journal)."""

    def __init__(self, conn: Connection, chain_id: int) -> None:
        self.conn = conn
        self.chain_id = chain_id
        self.rows: dict[str, dict[tuple[Any, ...], Row | None]] = {name: {} for name in PROJECTION_TABLES}
        self.original: dict[str, dict[tuple[Any, ...], Row | None]] = {name: {} for name in PROJECTION_TABLES}
        self.dirty: dict[str, set[tuple[Any, ...]]] = {name: set() for name in PROJECTION_TABLES}

    def prefetch(self, table: str, keys: Iterable[tuple[Any, ...]]) -> None:
        known = self.rows[table]
        wanted = [k for k in set(keys) if k not in known]
        if not wanted:
            return
        t = PROJECTION_TABLES[table]
        pk = PK[table]
        # Query on a prefix of the primary key — equality on the columns every wanted key shares, IN on
        # the first that varies — and keep the exact keys in Python: a row-value IN list is not
        # index-friendly on every database (PostgreSQL falls back to a scan), while this form walks the
        # primary-key index everywhere and never reads rows beyond the wanted ones' prefix.
        # Plain DB-API statements: SQLAlchemy's compilation of a 500-value IN cost more than the lookup.
        columns = [c.name for c in t.columns]
        key_of = KEY[table]
        original = self.original[table]
        mark = _placeholder(self.conn)
        cursor = _driver_cursor(self.conn)
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found: dict[tuple[Any, ...], Row] = {}
                split = next((i for i in range(len(pk) - 1) if len({k[i] for k in chunk}) > 1), len(pk) - 1)
                groups: dict[tuple[Any, ...], set[Any]] = defaultdict(set)
                for key in chunk:
                    groups[key[:split]].add(key[split])
                for prefix, values in groups.items():
                    where = [f"{pk[i]} = {mark}" for i in range(split)]
                    where.append(f"{pk[split]} IN ({', '.join([mark] * len(values))})")
                    sql = f"SELECT {', '.join(columns)} FROM {t.name} WHERE {' AND '.join(where)}"  # noqa: S608
                    cursor.execute(sql, (*prefix, *values))
                    convert = _result_converters(t, self.conn.dialect, cursor.description)
                    for raw in cursor.fetchall():
                        row = {
                            name: (value if conv is None or value is None else conv(value))
                            for name, conv, value in zip(columns, convert, raw, strict=True)
                        }
                        found[key_of(row)] = row
                for key in chunk:
                    hit = found.get(key)
                    known[key] = hit
                    original[key] = None if hit is None else dict(hit)
        finally:
            cursor.close()

    def known_absent(self, table: str, keys: Iterable[tuple[Any, ...]]) -> None:
        """Rows that cannot exist yet (their creating event was just accepted as new): skip the query."""
        known = self.rows[table]
        original = self.original[table]
        for key in keys:
            if key not in known:
                known[key] = None
                original[key] = None

    def get(self, table: str, key: tuple[Any, ...]) -> Row | None:
        known = self.rows[table]
        if key not in known:
            self.prefetch(table, [key])
        return known[key]

    def put(self, table: str, row: Row) -> None:
        key = KEY[table](row)
        known = self.rows[table]
        if key not in known:
            self.prefetch(table, [key])
        known[key] = row
        self.dirty[table].add(key)

    def flush(self, journal_block: int | None) -> None:
        """Write the changed rows back (journalled when `journal_block` is set). A batch is flushed
        once, at its end: its rows' baseline is not updated for a second flush."""
        seq = 0
        writer = BulkWriter(self.conn)
        for table, keys in self.dirty.items():
            t = PROJECTION_TABLES[table]
            pk = PK[table]
            writer.delete(t, pk, [k for k in keys if self.original[table].get(k) is not None])
            writer.insert(t, [row for k in keys if (row := self.rows[table][k]) is not None])
            if journal_block is not None:
                entries = []
                for key in keys:
                    old = self.original[table].get(key)
                    entries.append(
                        {
                            "chain_id": self.chain_id,
                            "block_number": journal_block,
                            "seq": seq,
                            "tbl": table,
                            "pk": json.dumps([_jsonable(v) for v in key]),
                            "old": None
                            if old is None
                            else json.dumps({k: _jsonable(v) for k, v in old.items()}),
                        }
                    )
                    seq += 1
                if entries:
                    self.conn.execute(reorg_journal.insert(), entries)


_CONVERTERS: dict[tuple[str, str], list[Callable[[Any], Any] | None]] = {}


def _result_converters(table: Table, dialect: Dialect, description: Any) -> list[Callable[[Any], Any] | None]:
    """Per column, what SQLAlchemy would do to a fetched value (uint256 text or NUMERIC -> int, 0/1 ->
    bool); `description` is the DB-API cursor's, whose type codes some dialects need."""
    cached = _CONVERTERS.get((table.name, dialect.name))
    if cached is None:
        cached = [
            c.type.dialect_impl(dialect).result_processor(dialect, d[1])
            for c, d in zip(table.columns, description, strict=True)
        ]
        _CONVERTERS[table.name, dialect.name] = cached
    return cached


Handler = Callable[[Batch, DecodedEvent], None]


class Projector:
    """Applies events of SkillEscrow, Reputation and SkillCredential to the projection tables."""

    def __init__(self) -> None:
        self.handlers: dict[tuple[str, str], Handler] = {
            ("SkillEscrow", "TreasuryUpdated"): self._treasury,
            ("SkillEscrow", "FeeUpdated"): self._fee,
            ("SkillEscrow", "PauseChanged"): self._paused,
            ("SkillEscrow", "EngagementCreated"): self._created,
            ("SkillEscrow", "EngagementAccepted"): self._accepted,
            ("SkillEscrow", "OfferUsed"): self._offer_used,
            ("SkillEscrow", "RequestWithdrawn"): self._request_closed,
            ("SkillEscrow", "EngagementCancelled"): self._request_closed,
            ("SkillEscrow", "MilestoneSubmitted"): self._submitted,
            ("SkillEscrow", "MilestoneReleased"): self._released,
            ("SkillEscrow", "MilestoneRefunded"): self._refunded,
            ("SkillEscrow", "DisputeRaised"): self._dispute_raised,
            ("SkillEscrow", "DisputeResolved"): self._dispute_resolved,
            ("SkillEscrow", "Withdrawn"): self._withdrawn,
            ("Reputation", "ReviewSubmitted"): self._review,
            ("SkillCredential", "CredentialIssued"): self._issued,
            ("SkillCredential", "CredentialRevoked"): self._revoked,
            ("SkillCredential", "Transfer"): self._transfer,
            ("SkillCredential", "RoleGranted"): self._role_granted,
            ("SkillCredential", "RoleRevoked"): self._role_revoked,
        }

    # ------------------------------------------------------------ batch driver
    def apply(
        self,
        conn: Connection,
        chain_id: int,
        events: list[DecodedEvent],
        journal_block: int | None,
        raw_rows: list[tuple[Any, ...]] | None = None,
    ) -> None:
        """Store the raw events (`raw_rows`: theirs from `raw_event_rows`, if the reader built them
        already) and apply them to the projections."""
        if not events:
            return
        # Raw events go straight in as tuples in the table's column order (no dict per event).
        BulkWriter(conn).insert_tuples(chain_events, raw_event_rows(events) if raw_rows is None else raw_rows)
        batch = Batch(conn, chain_id)
        self._prefetch(batch, chain_id, events)
        handlers = self.handlers
        for event in events:
            handler = handlers.get((event.contract, event.name))
            if handler is not None:
                handler(batch, event)
        batch.flush(journal_block)

    def _prefetch(self, batch: Batch, c: int, events: list[DecodedEvent]) -> None:
        """Load, in a few bulk queries, every row the batch's events can touch (no query per event)."""
        engagements, milestones, credentials, reputation, issuers = set(), set(), set(), set(), set()
        new_engagements, new_milestones, new_reviews = set(), set(), set()
        new_withdrawals: set[tuple[Any, ...]] = set()
        created: dict[int, dict[str, Any]] = {}
        named_accounts: dict[int, list[str]] = {}  # engagement id -> accounts its events name
        owed: set[tuple[Any, ...]] = set()
        for e in events:
            contract, name, a = e.contract, e.name, e.args
            if contract == "SkillEscrow":
                if name == "EngagementCreated":
                    # Ids are unique and the raw event was new (its primary key accepted it), so these
                    # rows do not exist: a rolled-back creation was removed by the journal.
                    eid = a["id"]
                    created[eid] = a
                    new_engagements.add((c, eid))
                    for i in range(len(a["amounts"])):
                        new_milestones.add((c, eid, i))
                elif name == "Withdrawn":
                    owed.add((c, a["token"], a["account"]))
                    new_withdrawals.add((c, e.block_number, e.log_index))  # its raw event was new
                elif "id" in a:
                    eid = a["id"]
                    engagements.add((c, eid))
                    if "index" in a:
                        milestones.add((c, eid, a["index"]))
                    if name in ("DisputeRaised", "DisputeResolved"):
                        milestones.update([(c, eid, i) for i in range(16)])
                    accounts = named_accounts.setdefault(eid, [])
                    if "provider" in a:
                        accounts.append(a["provider"])
                    if "payer" in a:
                        accounts.append(a["payer"])
            elif name == "ReviewSubmitted":
                new_reviews.add((c, a["engagementId"], a["reviewer"]))  # one review per side, ever
                reputation.add((c, a["subject"]))
            elif contract == "SkillCredential":
                if "tokenId" in a:  # ids are metadata digests: one burned may be issued again
                    credentials.add((c, str(a["tokenId"])))
                elif name in ("RoleGranted", "RoleRevoked"):
                    issuers.add((c, a["account"]))
        batch.known_absent("engagements", new_engagements)
        batch.known_absent("milestones", new_milestones)
        batch.known_absent("reviews", new_reviews)
        batch.known_absent("withdrawals", new_withdrawals)
        batch.prefetch("escrow_config", [(c,)])
        batch.prefetch("engagements", engagements - new_engagements)
        batch.prefetch("milestones", milestones - new_milestones)
        batch.prefetch("reputation", reputation)
        batch.prefetch("credentials", credentials)
        batch.prefetch("issuers", issuers)
        treasury = (batch.rows["escrow_config"].get((c,)) or {}).get("treasury") or ZERO_ADDRESS
        known = batch.rows["engagements"]
        for eid, accounts in named_accounts.items():
            row = known.get((c, eid)) or created.get(eid)
            if row is None:
                continue
            token = row["token"]
            owed.add((c, token, row["provider"]))
            owed.add((c, token, row["payer"]))
            owed.add((c, token, treasury))
            for account in accounts:
                owed.add((c, token, account))
        batch.prefetch("escrow_owed", owed)

    # ------------------------------------------------------------ helpers
    def _config(self, b: Batch, c: int) -> Row:
        row = b.get("escrow_config", (c,))
        return dict(row) if row else {"chain_id": c, "treasury": None, "fee_bps": None, "paused": False}

    @staticmethod
    def _treasury_account(b: Batch, c: int) -> str:
        row = b.get("escrow_config", (c,))
        return (row["treasury"] if row else None) or ZERO_ADDRESS

    def _credit(self, b: Batch, c: int, token: str, account: str, amount: int) -> None:
        if amount == 0:
            return
        row = b.get("escrow_owed", (c, token, account))
        if row is None:
            row = {"chain_id": c, "token": token, "account": account, "amount": 0}
        row["amount"] += amount
        b.put("escrow_owed", row)

    def _engagement(self, b: Batch, e: DecodedEvent) -> Row:
        row = b.get("engagements", (e.chain_id, e.args["id"]))
        if row is None:
            raise LookupError(
                f"event {e.name} for unknown engagement {e.args['id']} at block {e.block_number}"
            )
        return row

    @staticmethod
    def _status(row: Row) -> str:
        if row["open_milestones"] == 0:
            # A request closed before acceptance is withdrawn or declined (set by the closing event,
            # which follows its refunds in the same transaction); only accepted work is "settled".
            return "settled" if row["accepted"] else row["status"]
        if not row["accepted"]:
            return "requested"
        return "disputed" if row["disputed_at"] else "active"

    # ------------------------------------------------------------ escrow
    def _treasury(self, b: Batch, e: DecodedEvent) -> None:
        b.put("escrow_config", self._config(b, e.chain_id) | {"treasury": e.args["treasury"]})

    def _fee(self, b: Batch, e: DecodedEvent) -> None:
        b.put("escrow_config", self._config(b, e.chain_id) | {"fee_bps": e.args["feeBps"]})

    def _paused(self, b: Batch, e: DecodedEvent) -> None:
        b.put("escrow_config", self._config(b, e.chain_id) | {"paused": bool(e.args["paused"])})

    def _created(self, b: Batch, e: DecodedEvent) -> None:
        a, c = e.args, e.chain_id
        amounts, dues = a["amounts"], a["dueDates"]
        b.put(
            "engagements",
            {
                "chain_id": c,
                "id": a["id"],
                "client": a["client"],
                "provider": a["provider"],
                "payer": a["payer"],
                "token": a["token"],
                "arbiter": a["arbiter"],
                "fee_bps": a["feeBps"],
                "review_window": a["reviewWindow"],
                "terms_digest": a["termsDigest"],
                "external_ref": a["externalRef"],
                "total_amount": sum(amounts),
                "open_milestones": len(amounts),
                "paid": False,
                "disputed_at": None,
                "status": "requested",  # until EngagementAccepted, or OfferUsed in the same transaction
                "created_block": e.block_number,
                "created_tx": e.tx_hash,
                "accepted": False,
                "offer_nonce": None,
                "booking_ref": None,
                "starts_at": None,
            },
        )
        for i, (amount, due) in enumerate(zip(amounts, dues, strict=True)):
            b.put(
                "milestones",
                {
                    "chain_id": c,
                    "engagement_id": a["id"],
                    "idx": i,
                    "amount": amount,
                    "due_date": due,
                    "releasable_at": None,
                    "state": "funded",
                    "deliverable_digest": None,
                    "frozen": False,
                    "provider_share_bps": None,
                },
            )

    def _accepted(self, b: Batch, e: DecodedEvent) -> None:
        eng = self._engagement(b, e)
        eng["accepted"] = True
        eng["status"] = self._status(eng)
        b.put("engagements", eng)

    def _offer_used(self, b: Batch, e: DecodedEvent) -> None:
        eng = self._engagement(b, e)
        a = e.args
        eng["offer_nonce"] = a["nonce"]
        eng["booking_ref"] = None if int(a["bookingRef"], 16) == 0 else a["bookingRef"]
        eng["starts_at"] = a["startsAt"] or None
        eng["accepted"] = True  # the provider signed the offer: accepted from the start
        eng["status"] = self._status(eng)
        b.put("engagements", eng)

    def _request_closed(self, b: Batch, e: DecodedEvent) -> None:
        eng = self._engagement(b, e)
        if eng["accepted"]:
            return  # a cancel of accepted work: its refunds already said everything
        if eng["open_milestones"] == 0:
            eng["status"] = "withdrawn" if e.name == "RequestWithdrawn" else "declined"
            b.put("engagements", eng)

    def _milestone(self, b: Batch, e: DecodedEvent) -> Row:
        row = b.get("milestones", (e.chain_id, e.args["id"], e.args["index"]))
        if row is None:
            raise LookupError(f"{e.name} for unknown milestone {e.args['id']}/{e.args['index']}")
        return row

    def _submitted(self, b: Batch, e: DecodedEvent) -> None:
        m = self._milestone(b, e)
        m.update(
            state="submitted",
            releasable_at=e.args["releasableAt"],
            deliverable_digest=e.args["deliverableDigest"],
        )
        b.put("milestones", m)

    def _released(self, b: Batch, e: DecodedEvent) -> None:
        eng = self._engagement(b, e)
        m = self._milestone(b, e)
        m["state"] = "released"
        b.put("milestones", m)
        eng["open_milestones"] -= 1
        eng["paid"] = True
        eng["status"] = self._status(eng)
        b.put("engagements", eng)
        self._credit(b, e.chain_id, eng["token"], e.args["provider"], e.args["amount"])
        self._credit(b, e.chain_id, eng["token"], self._treasury_account(b, e.chain_id), e.args["fee"])

    def _refunded(self, b: Batch, e: DecodedEvent) -> None:
        eng = self._engagement(b, e)
        m = self._milestone(b, e)
        m["state"] = "refunded"
        b.put("milestones", m)
        eng["open_milestones"] -= 1
        eng["status"] = self._status(eng)
        b.put("engagements", eng)
        self._credit(b, e.chain_id, eng["token"], e.args["payer"], e.args["amount"])

    def _frozen_milestones(self, b: Batch, e: DecodedEvent) -> list[Row]:
        c, eid = e.chain_id, e.args["id"]
        keys = [(c, eid, i) for i in range(16)]
        b.prefetch("milestones", keys)
        return [dict(m) for key in keys if (m := b.rows["milestones"].get(key)) is not None and m["frozen"]]

    def _dispute_raised(self, b: Batch, e: DecodedEvent) -> None:
        eng = self._engagement(b, e)
        c, eid, mask = e.chain_id, e.args["id"], e.args["frozenMask"]
        keys = [(c, eid, i) for i in range(16) if mask >> i & 1]
        b.prefetch("milestones", keys)
        for key in keys:
            m = b.rows["milestones"].get(key)
            if m is not None:
                b.put("milestones", dict(m) | {"frozen": True})
        eng["disputed_at"] = e.args["raisedAt"]
        eng["status"] = self._status(eng)
        b.put("engagements", eng)

    def _dispute_resolved(self, b: Batch, e: DecodedEvent) -> None:
        eng = self._engagement(b, e)
        c = e.chain_id
        frozen = self._frozen_milestones(b, e)
        eng["disputed_at"] = None
        if e.args["byTimeout"]:
            # The timeout rule released or refunded each frozen milestone with its own event (already
            # applied: credits, states, open count); only the freeze is left to lift.
            for m in frozen:
                b.put("milestones", m | {"frozen": False})
            eng["status"] = self._status(eng)
            b.put("engagements", eng)
            return
        share = e.args["providerShareBps"]
        for m in frozen:
            b.put("milestones", m | {"frozen": False, "state": "resolved", "provider_share_bps": share})
        eng["open_milestones"] -= len(frozen)
        if e.args["providerAmount"] + e.args["fee"] > 0:
            eng["paid"] = True
        eng["status"] = self._status(eng)
        b.put("engagements", eng)
        token = eng["token"]
        self._credit(b, c, token, eng["provider"], e.args["providerAmount"])
        self._credit(b, c, token, eng["payer"], e.args["payerAmount"])
        self._credit(b, c, token, self._treasury_account(b, c), e.args["fee"])

    def _withdrawn(self, b: Batch, e: DecodedEvent) -> None:
        a = e.args
        self._credit(b, e.chain_id, a["token"], a["account"], -a["amount"])
        b.put(
            "withdrawals",
            {
                "chain_id": e.chain_id,
                "block_number": e.block_number,
                "log_index": e.log_index,
                "account": a["account"],
                "token": a["token"],
                "recipient": a["to"],
                "amount": a["amount"],
                "tx_hash": e.tx_hash,
            },
        )

    # ------------------------------------------------------------ reputation
    def _review(self, b: Batch, e: DecodedEvent) -> None:
        a, c = e.args, e.chain_id
        role = "provider" if a["role"] == 0 else "client"
        b.put(
            "reviews",
            {
                "chain_id": c,
                "engagement_id": a["engagementId"],
                "reviewer": a["reviewer"],
                "subject": a["subject"],
                "role": role,
                "rating": a["rating"],
                "comment_digest": a["commentDigest"],
                "block_number": e.block_number,
                "tx_hash": e.tx_hash,
            },
        )
        row = b.get("reputation", (c, a["subject"]))
        agg = (
            dict(row)
            if row
            else {
                "chain_id": c,
                "subject": a["subject"],
                "provider_count": 0,
                "provider_sum": 0,
                "client_count": 0,
                "client_sum": 0,
            }
        )
        agg[f"{role}_count"] += 1
        agg[f"{role}_sum"] += a["rating"]
        b.put("reputation", agg)

    # ------------------------------------------------------------ credentials
    def _issued(self, b: Batch, e: DecodedEvent) -> None:
        a = e.args
        b.put(
            "credentials",
            {
                "chain_id": e.chain_id,
                "token_id": str(a["tokenId"]),
                "holder": a["holder"],
                "issuer": a["issuer"],
                "skill_id": a["skillId"],
                "issued_at": a["issuedAt"],
                "expires_at": a["expiresAt"],
                "engagement_id": a["engagementId"],
                "revoked": False,
                "revoke_reason": None,
                "burned": False,
                "block_number": e.block_number,
                "tx_hash": e.tx_hash,
            },
        )

    def _revoked(self, b: Batch, e: DecodedEvent) -> None:
        row = b.get("credentials", (e.chain_id, str(e.args["tokenId"])))
        if row is not None:
            b.put("credentials", dict(row) | {"revoked": True, "revoke_reason": e.args["reasonDigest"]})

    def _transfer(self, b: Batch, e: DecodedEvent) -> None:
        if e.args["to"] != ZERO_ADDRESS:
            return  # mints are recorded by CredentialIssued
        row = b.get("credentials", (e.chain_id, str(e.args["tokenId"])))
        if row is not None:
            b.put("credentials", dict(row) | {"burned": True})

    def _role_granted(self, b: Batch, e: DecodedEvent) -> None:
        if e.args["role"] == ISSUER_ROLE:
            b.put(
                "issuers",
                {
                    "chain_id": e.chain_id,
                    "address": e.args["account"],
                    "accredited": True,
                    "changed_block": e.block_number,
                },
            )

    def _role_revoked(self, b: Batch, e: DecodedEvent) -> None:
        if e.args["role"] == ISSUER_ROLE:
            b.put(
                "issuers",
                {
                    "chain_id": e.chain_id,
                    "address": e.args["account"],
                    "accredited": False,
                    "changed_block": e.block_number,
                },
            )
