"""Live-mode latency: how long after its block a new event is queryable (issue #7: <= 1 s on anvil),
ours against a straightforward web3.py poller in the same run.

Anvil mines each transaction as it arrives, so the block exists when `eth_sendTransaction` returns. A
sample is the time from that return to the event's row being readable in each indexer's SQLite
database, which this process polls every 5 ms. Each indexer runs in its own process and polls the
chain head every `--poll` seconds (the indexer's default, SKILLCHAIN_INDEX_POLL_INTERVAL, is 0.2):
ours follows blocks one by one (header, eth_getLogs by block hash, parent-hash check, projections,
journal, one transaction); the baseline calls web3.py's `get_logs` per event type for each new block
and inserts the raw events. Samples are spaced irregularly so they fall at every phase of the polls.

    make bench-indexer-live   (or: .venv/bin/python bench/indexer_live.py [--samples 40] [--poll 0.2])
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from web3 import Web3  # noqa: E402

from bench.common import start_anvil  # noqa: E402
from bench.indexer import Baseline, our_indexer, seed  # noqa: E402
from chain.tx import anvil_account  # noqa: E402

TARGET_SECONDS = 1.0


def child_ours(url: str, info: dict[str, Any], db_path: str, poll: float) -> None:
    our_indexer(url, info, f"sqlite:///{db_path}", poll_interval=poll).run()  # until terminated


def child_baseline(url: str, info: dict[str, Any], db_path: str, poll: float) -> None:
    """Poll the head; index each new block the straightforward way (bench/indexer.py's Baseline)."""
    w3 = Web3(Web3.HTTPProvider(url))
    baseline = Baseline(w3, info, db_path)
    done = int(info["start_block"]) - 1
    while True:
        head = w3.eth.block_number
        for block in range(done + 1, head + 1):
            baseline.index_block(block)
        done = head
        time.sleep(poll)


def _visible(db: sqlite3.Connection, sql: str, key: int) -> bool:
    try:
        return db.execute(sql, (key,)).fetchone() is not None
    except sqlite3.OperationalError:  # the table is not there yet
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--poll", type=float, default=0.2, help="each indexer's head-polling interval (s)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url, info_path, db_path = args.child
        info = json.loads(Path(info_path).read_text())
        (child_ours if mode == "ours" else child_baseline)(url, info, db_path, args.poll)
        return

    anvil, url = start_anvil("--disable-block-gas-limit")
    tmp = Path(tempfile.mkdtemp(prefix="skillchain-bench-live-"))
    children: list[subprocess.Popen[bytes]] = []
    try:
        info = seed(url, 5)  # the emitters and one lifecycle (engagement 1)
        info_path = tmp / "info.json"
        info_path.write_text(json.dumps(info))
        # What each database shows once an engagement's creation is indexed.
        probes = {
            "ours": (tmp / "ours.db", "SELECT 1 FROM engagements WHERE chain_id = 31337 AND id = ?"),
            "baseline": (
                tmp / "base.db",
                "SELECT 1 FROM events WHERE name = 'EngagementCreated' AND json_extract(args, '$.id') = CAST(? AS TEXT)",
            ),
        }
        for mode, (path, _sql) in probes.items():
            command = [sys.executable, __file__, "--poll", str(args.poll)]
            children.append(subprocess.Popen([*command, "--child", mode, url, str(info_path), str(path)]))
        dbs: dict[str, sqlite3.Connection] = {}
        deadline = time.monotonic() + 120
        while len(dbs) < len(probes) or not all(_visible(dbs[m], probes[m][1], 1) for m in probes):
            if time.monotonic() > deadline or any(c.poll() is not None for c in children):
                raise SystemExit("an indexer did not start (see its output above)")
            for mode, (path, _sql) in probes.items():
                if mode not in dbs and path.exists():
                    dbs[mode] = sqlite3.connect(path, timeout=10)
            time.sleep(0.05)

        w3 = Web3(Web3.HTTPProvider(url))
        escrow_address = next(a for a, n in info["addresses"].items() if n == "SkillEscrow")  # type: ignore[union-attr]
        escrow = w3.eth.contract(
            address=Web3.to_checksum_address(escrow_address),
            abi=info["abis"]["EscrowEventEmitter"],  # type: ignore[index]
        )
        sender = anvil_account(0).address
        latencies: dict[str, list[float]] = {mode: [] for mode in probes}
        missed = dict.fromkeys(probes, 0)
        rng = random.Random(7)
        print(f"{args.samples} samples, each indexer polling every {args.poll} s ...", file=sys.stderr)
        for i in range(args.samples):
            eid = 1000 + i
            escrow.functions.lifecycles(eid, 1).transact({"from": sender, "gas": 5_000_000})
            mined = time.perf_counter()  # automine: the block exists once the call returns
            waiting = set(probes)
            while waiting and time.perf_counter() - mined < 10:
                for mode in list(waiting):
                    if _visible(dbs[mode], probes[mode][1], eid):
                        latencies[mode].append(time.perf_counter() - mined)
                        waiting.discard(mode)
                time.sleep(0.005)
            for mode in waiting:
                missed[mode] += 1
            time.sleep(rng.uniform(0.05, 0.4))

        print(f"\nlive latency on anvil, block mined -> row queryable ({args.samples} new engagements)")
        print(f"{'indexer':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'missed':>7}")
        labels = {"ours": "skillchain indexer -> SQLite", "baseline": "web3.py get_logs + INSERT"}
        for mode, values in latencies.items():
            if not values:
                print(f"{labels[mode]:<34} {'-':>8} {'-':>8} {'-':>8} {missed[mode]:>7}")
                continue
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            print(
                f"{labels[mode]:<34} {1000 * statistics.median(ordered):>8.0f} {1000 * p95:>8.0f} "
                f"{1000 * ordered[-1]:>8.0f} {missed[mode]:>7}"
            )
        ours = latencies["ours"]
        if ours:
            within = sum(v <= TARGET_SECONDS for v in ours)
            print(
                f"\n{within}/{len(ours)} of our samples within {TARGET_SECONDS:.0f} s (target: every event "
                f"<= {TARGET_SECONDS:.0f} s); missed {missed['ours']}"
            )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait()
        anvil.terminate()
        anvil.wait()


if __name__ == "__main__":
    main()
