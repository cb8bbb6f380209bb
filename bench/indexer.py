"""Indexer benchmark: >= 1,000,000 events with Skillchain's event signatures, end to end (RPC fetch,
decode, projections, write), against a straightforward web3.py indexer in the same run.

Bench-only emitter contracts (bench/contracts/BenchEmitters.sol) emit coherent lifecycles — create,
submit, release (SkillEscrow signatures), review (Reputation), credential (SkillCredential) — so the
projections do their real work. Each indexer runs in its own process (peak RSS is its own; ours adds
its read helper process's peak) on the same chain. The web3.py baseline (`contract.events.X.get_logs`
+ one INSERT per event) is timed on a prefix of the same blocks, because at ~2k events/s a million
would take ten minutes; the ratio compares rates.
Targets (issue #7): >= 50,000 events/s into SQLite, >= 20x the baseline, peak RSS <= 500 MB.

Why the 50,000 events/s target is out of reach here, measured in the same run: the CPU each process
spends per event (indexer, its read helper, and anvil answering eth_getLogs) against what two cores
give, and the SQLite floor — the exact rows and deletes our indexer wrote, replayed into a fresh
database with nothing else running (the database's own share of writing, no Python per event).

For context the same run also measures Ponder, the TypeScript indexer, through the shared harness
(../shared/bench-peers/ponder/run.sh, PostgreSQL mode, the same number of events) when it is present:
its events are ERC-20 transfers with a balance-upsert handler rather than our lifecycles, so read
that row as "what a production indexer manages on this machine", not as the same workload.

    make bench-indexer        (or: .venv/bin/python bench/indexer.py [--events 1000000])
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.schema import CreateIndex  # noqa: E402
from web3 import Web3  # noqa: E402

from bench.common import compile_files, start_anvil  # noqa: E402
from chain.tx import Sender, anvil_account  # noqa: E402

PER_LIFECYCLE = 5  # created, submitted, released, review, credential
LIFECYCLES_PER_TX = 2000


def seed(url: str, events: int) -> dict[str, object]:
    art = compile_files({"bench/contracts/BenchEmitters.sol": ROOT / "bench/contracts/BenchEmitters.sol"})
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 600}))
    sender = Sender(w3, anvil_account(0), timeout=600)
    escrow, receipt = sender.deploy(art["EscrowEventEmitter"], anvil_account(1).address)
    start_block = receipt["blockNumber"]
    rep, _ = sender.deploy(art["ReputationEventEmitter"])
    cred, _ = sender.deploy(art["CredentialEventEmitter"])
    lifecycles = events // PER_LIFECYCLE
    t = time.perf_counter()
    for first in range(1, lifecycles + 1, LIFECYCLES_PER_TX):
        n = min(LIFECYCLES_PER_TX, lifecycles + 1 - first)
        for fn in (
            escrow.functions.lifecycles(first, n),
            rep.functions.reviews(first, n),
            cred.functions.credentials(first, n),
        ):
            sender.send(
                {
                    "to": fn.address,
                    "data": fn.build_transaction({"from": sender.address, "gas": 10**9})["data"],
                    "gas": 900_000_000,
                }
            )
    print(f"seeded {lifecycles * PER_LIFECYCLE:,} events in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return {
        "addresses": {
            escrow.address.lower(): "SkillEscrow",
            rep.address.lower(): "Reputation",
            cred.address.lower(): "SkillCredential",
        },
        "start_block": start_block,
        "abis": {
            "EscrowEventEmitter": art["EscrowEventEmitter"].abi,
            "ReputationEventEmitter": art["ReputationEventEmitter"].abi,
            "CredentialEventEmitter": art["CredentialEventEmitter"].abi,
        },
        "head": w3.eth.block_number,
    }


def our_indexer(url: str, info: dict[str, Any], database_url: str, **config: Any) -> Any:
    """Our indexer on a migrated database, following the emitters from their first block (no
    finality lag: the benchmark chain does not reorganise). Returns an indexer.runner.Indexer."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from indexer.rpc import RpcClient
    from indexer.runner import Indexer, IndexerConfig

    engine = make_engine(database_url, bulk_writer=True)
    upgrade(engine)
    settings = IndexerConfig(
        chain_id=31337,
        addresses=info["addresses"],
        start_block=info["start_block"],
        finality_depth=0,
        **config,
    )
    return Indexer(engine, RpcClient(url, timeout=120), settings)


def child_ours(url: str, info: dict[str, Any], database_url: str) -> None:
    indexer = our_indexer(url, info, database_url)
    before = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    indexer.run(once=True)
    seconds = time.perf_counter() - t
    # The indexer's own peak plus its read helper's (indexer/offload.py), as if both peaked together.
    own = resource.getrusage(resource.RUSAGE_SELF)
    helper = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "events": indexer.events_total,
                "seconds": seconds,
                "rss_mb": (own.ru_maxrss + helper.ru_maxrss) / 1024,
                "cpu_s": own.ru_utime + own.ru_stime - before.ru_utime - before.ru_stime,
                "helper_cpu_s": helper.ru_utime + helper.ru_stime,
            }
        )
    )


def child_sql_floor(url: str, info: dict[str, Any], tmp: Path) -> None:
    """Index again with every bulk write recorded (untimed), then replay the records into a fresh
    database with the same settings, timed: SQLite's own work for our read model."""
    import pickle

    from db.chain import SECONDARY_INDEXES
    from db.engine import make_engine
    from db.migrate import upgrade
    from indexer import project
    from indexer.runner import Indexer

    record = (tmp / "writes.pickle").open("wb")
    driver_cursor = project._driver_cursor  # every bulk insert and delete goes through its executemany

    class RecordingCursor:
        def __init__(self, cursor: Any) -> None:
            self.cursor = cursor

        def executemany(self, sql: str, params: list[Any]) -> Any:
            pickle.dump((sql, params), record)
            return self.cursor.executemany(sql, params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.cursor, name)

    project._driver_cursor = lambda conn: RecordingCursor(driver_cursor(conn))
    write_range = Indexer._write_range

    def recording_write_range(self: Indexer, *args: Any) -> None:
        write_range(self, *args)
        pickle.dump(("COMMIT", None), record)

    Indexer._write_range = recording_write_range  # type: ignore[method-assign]
    indexer = our_indexer(url, info, f"sqlite:///{tmp / 'recorded.db'}")
    indexer.run(once=True)
    record.close()

    engine = make_engine(f"sqlite:///{tmp / 'replayed.db'}", bulk_writer=True)  # same pragmas
    upgrade(engine)
    with engine.begin() as conn:  # as during a catch-up: built again at the end (timed)
        for index in SECONDARY_INDEXES:
            index.drop(conn)
    db = engine.raw_connection().driver_connection
    assert db is not None
    db.isolation_level = None  # explicit BEGIN/COMMIT, one transaction per range as the indexer does
    spent = 0.0  # only the database's calls are timed, not reading the records back

    def timed(sql: str, params: list[Any] | None = None) -> None:
        nonlocal spent
        t = time.perf_counter()
        if params is None:
            db.execute(sql)
        else:
            db.executemany(sql, params)
        spent += time.perf_counter() - t

    with (tmp / "writes.pickle").open("rb") as f:
        timed("BEGIN")
        while True:
            try:
                sql, params = pickle.load(f)
            except EOFError:
                break
            if sql == "COMMIT":
                timed("COMMIT")
                timed("BEGIN")
            else:
                timed(sql, params)
        timed("COMMIT")
    for index in SECONDARY_INDEXES:
        timed(str(CreateIndex(index).compile(dialect=engine.dialect)))
    print(json.dumps({"events": indexer.events_total, "seconds": spent}))


class Baseline:
    """The straightforward way: web3.py's get_logs per event type, one INSERT per event (also the
    live benchmark's peer, bench/indexer_live.py)."""

    def __init__(self, w3: Web3, info: dict[str, Any], db_path: str) -> None:
        abis = info["abis"]
        by_name = {v: k for k, v in info["addresses"].items()}

        def contract(name: str, abi: str) -> Any:
            return w3.eth.contract(address=Web3.to_checksum_address(by_name[name]), abi=abis[abi])

        self.contracts = [
            (
                contract("SkillEscrow", "EscrowEventEmitter"),
                ["EngagementCreated", "MilestoneSubmitted", "MilestoneReleased"],
            ),
            (contract("Reputation", "ReputationEventEmitter"), ["ReviewSubmitted"]),
            (contract("SkillCredential", "CredentialEventEmitter"), ["CredentialIssued"]),
        ]
        self.db = sqlite3.connect(db_path)
        self.db.execute("PRAGMA journal_mode=WAL")  # the live benchmark reads while it writes
        self.db.execute(
            "CREATE TABLE events (block INTEGER, log_index INTEGER, name TEXT, args TEXT, PRIMARY KEY (block, log_index))"
        )
        self.db.commit()

    def index_block(self, block: int) -> int:
        """Fetch and store one block's events, committed; returns how many."""
        count = 0
        for contract, names in self.contracts:
            for name in names:
                for ev in getattr(contract.events, name).get_logs(from_block=block, to_block=block):
                    self.db.execute(
                        "INSERT INTO events VALUES (?, ?, ?, ?)",
                        (
                            ev.blockNumber,
                            ev.logIndex,
                            ev.event,
                            json.dumps({k: str(v) for k, v in ev.args.items()}),
                        ),
                    )
                    count += 1
        self.db.commit()
        return count


def child_baseline(url: str, info: dict[str, Any], db_path: str, max_events: int) -> None:
    baseline = Baseline(Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 600})), info, db_path)
    count = 0
    block = int(info["start_block"])
    t = time.perf_counter()
    while count < max_events and block <= int(info["head"]):
        count += baseline.index_block(block)
        block += 1
    seconds = time.perf_counter() - t
    print(
        json.dumps(
            {
                "events": count,
                "seconds": seconds,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


PONDER_HARNESS = ROOT.parent / "shared" / "bench-peers" / "ponder" / "run.sh"


def run_ponder(events: int) -> tuple[str, dict[str, float]] | None:
    """Ponder through the shared harness (its own anvil, chain and PostgreSQL); None if it failed."""
    print(f"running Ponder on {events:,} events (shared harness, PostgreSQL) ...", file=sys.stderr)
    proc = subprocess.run(
        ["bash", str(PONDER_HARNESS), str(events), "1"],
        env={**os.environ, "BENCH_DB": "postgres"},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    summaries = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"summary"')]
    if proc.returncode != 0 or not summaries or not summaries[-1]["ok"]:
        print(f"Ponder run failed (rc {proc.returncode}):\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    summary = summaries[-1]
    return str(summary.get("ponder") or ""), {
        "events": float(summary["events"]),
        "seconds": float(summary["wall_s"][0]),
        "rss_mb": float(summary["peak_rss_mb"][0]),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a running process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--baseline-events", type=int, default=30_000)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="admin URL; a scratch database is created and dropped ('' to skip)",
    )
    parser.add_argument(
        "--no-ponder", action="store_true", help="skip the Ponder run (../shared/bench-peers/ponder)"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url, info_path, target, *rest = args.child
        info = json.loads(Path(info_path).read_text())
        if mode == "ours":
            child_ours(url, info, target)
        elif mode == "sqlfloor":
            child_sql_floor(url, info, Path(target))
        else:
            child_baseline(url, info, target, int(rest[0]))
        return

    proc, url = start_anvil("--disable-block-gas-limit")
    tmp = Path(tempfile.mkdtemp(prefix="skillchain-bench-indexer-"))
    try:
        info = seed(url, args.events)
        info_path = tmp / "info.json"
        info_path.write_text(json.dumps(info))
        rows = []
        anvil_before = cpu_seconds(proc.pid)
        ours = run_child("ours", url, str(info_path), f"sqlite:///{tmp / 'ours.db'}")
        anvil_after = cpu_seconds(proc.pid)
        rows.append(("skillchain indexer -> SQLite", ours))
        if args.postgres:
            from sqlalchemy import create_engine, text

            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(
                args.postgres.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                pg_url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
                rows.append(
                    ("skillchain indexer -> PostgreSQL", run_child("ours", url, str(info_path), pg_url))
                )
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        floor = run_child("sqlfloor", url, str(info_path), str(tmp))
        rows.append(("SQLite alone, replaying ours' writes", floor))
        base = run_child("baseline", url, str(info_path), str(tmp / "base.db"), str(args.baseline_events))
        rows.append(("web3.py get_logs + INSERT (prefix)", base))
        proc.terminate()  # free the core before Ponder starts its own chain
        if not args.no_ponder and PONDER_HARNESS.exists():
            found = run_ponder(args.events)
            if found is not None:
                version, ponder = found
                rows.append((f"Ponder {version} -> PostgreSQL (ERC-20)", ponder))
        print(f"\nindexing {info_path and ours['events']:,.0f} events end to end from anvil (2 cores)")
        print(f"{'indexer':<38} {'events':>10} {'seconds':>8} {'events/s':>10} {'peak RSS MB':>12}")
        for label, r in rows:
            rss = f"{r['rss_mb']:.0f}" if "rss_mb" in r else "-"
            print(
                f"{label:<38} {r['events']:>10,.0f} {r['seconds']:>8.1f} {r['events'] / r['seconds']:>10,.0f} {rss:>12}"
            )
        ratio = (ours["events"] / ours["seconds"]) / (base["events"] / base["seconds"])
        print(
            f"\nSQLite rate {ours['events'] / ours['seconds']:,.0f} events/s (target >= 50,000); "
            f"{ratio:.0f}x the web3.py baseline (target >= 20x); peak RSS {ours['rss_mb']:.0f} MB (target <= 500 MB)"
        )
        if anvil_before is not None and anvil_after is not None:
            per_event = {
                "indexer": ours["cpu_s"],
                "read helper": ours["helper_cpu_s"],
                "anvil": anvil_after - anvil_before,
            }
            if per_event["read helper"] < 0.01 * per_event["indexer"]:  # a catch-up too short for one
                del per_event["read helper"]
            total = sum(per_event.values()) / ours["events"]
            print(
                "CPU per event in the SQLite run: "
                + ", ".join(f"{k} {1e6 * v / ours['events']:.1f} µs" for k, v in per_event.items())
                + f"; two cores fully used and perfectly shared would allow {2 / total:,.0f} events/s"
            )
        print(
            f"SQLite's own work for these rows (no Python per event): {floor['events'] / floor['seconds']:,.0f} "
            f"events/s, {1e6 * floor['seconds'] / floor['events']:.1f} µs per event on the writing core"
        )
        for label, r in rows:
            if label.startswith("Ponder"):
                ponder_rate = r["events"] / r["seconds"]
                print(
                    f"for context: {ponder_rate:,.0f} events/s for {label} — ours is "
                    f"{ours['events'] / ours['seconds'] / ponder_rate:.1f}x into SQLite"
                )
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
