"""Live-stream benchmark (issue #22): one API process built by the production app factory
(authentication, rate limits, middleware on), PostgreSQL on 127.0.0.1 with LISTEN/NOTIFY as the bus,
N authenticated open streams from a client in its own process, 200 events/s written to the outbox by
another process, each event concerning 50 subscribers (1% of 5,000; 0.5% of 10,000).

Measured while the streams are open: /health p99, the delay from an event's commit to its arrival at
each subscriber (p50/p99), and RSS per idle stream. Targets: /health p99 <= 50 ms and delivery p99
<= 250 ms at 10,000 streams. The previous stream (a database query per client twice a second, over a
200,000-row chain_events table) is measured in the same run, with as many streams as it survives:
the ratio column compares it at its breaking point.

    make bench-stream        (or: .venv/bin/python bench/stream.py [--streams 10000] [--seconds 10])
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RATE = 200  # events per second
AUDIENCE = 50  # subscribers per event

SERVER = r"""
import os, resource, sys
sys.path.insert(0, {root!r})
if os.environ.get("BENCH_CPUS"):  # the server on its own core: the client and writer share the other
    os.sched_setaffinity(0, {{int(os.environ["BENCH_CPUS"].split(",")[1])}})
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
import uvicorn
mode, port, url, data = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
from api.app import create_app
from skillchain.settings import Settings
# The previous stream is a plain route: the concurrency limit (40, added after it) would cap it at 40
# open streams, so it runs without; the outbox stream is never counted against it.
settings = Settings(data_dir=data, database_url=url, payments_worker=False, stream_per_user=0,
                    max_concurrent_requests=0 if mode == "previous" else 40)
app = create_app(settings)
if mode == "previous":
    # The stream as it was before the outbox (commit f08c376), kept here as the baseline: one query per
    # open stream every 0.5 s, matching events by a LIKE on their JSON arguments.
    import asyncio, json
    from fastapi import Request
    from fastapi.responses import StreamingResponse
    from sqlalchemy import func, select
    from api.deps import CurrentSession
    from db.chain import chain_events
    @app.get("/events/stream-previous")
    async def previous(request: Request, session: CurrentSession) -> StreamingResponse:
        engine = request.app.state.engine
        address = session.address
        def head(conn):
            v = conn.execute(select(func.max(chain_events.c.block_number)).where(chain_events.c.chain_id == 31337)).scalar()
            return int(v or 0)
        with engine.connect() as conn:
            last = head(conn)
        async def events():
            nonlocal last
            yield ": connected\n\n"
            while not await request.is_disconnected():
                with engine.connect() as conn:
                    rows = conn.execute(select(chain_events).where(
                        chain_events.c.chain_id == 31337, chain_events.c.block_number > last,
                        chain_events.c.args.like(f'%"{{address}}"%')).order_by(
                        chain_events.c.block_number, chain_events.c.log_index).limit(100)).mappings().all()
                for r in rows:
                    last = max(last, r["block_number"])
                    yield f"event: {{r['event']}}\ndata: {{r['args']}}\n\n"
                if not rows:
                    with engine.connect() as conn:
                        last = max(last, head(conn))
                    await asyncio.sleep(0.5)
        return StreamingResponse(events(), media_type="text/event-stream")
import os, signal, gc
print("server gc thresholds:", gc.get_threshold(), file=sys.stderr)
if os.environ.get("BENCH_GCLOG"):  # every collection's pause, by generation, written at SIGTERM
    import json as _json, time as _time
    _pauses, _t0 = [], [0.0, 0.0]
    def _gc_cb(phase, info):  # wall and CPU time: a pause longer on the wall was the core taken away
        if phase == "start":
            _t0[0], _t0[1] = _time.perf_counter(), _time.thread_time()
        else:
            _pauses.append((info["generation"], _time.perf_counter() - _t0[0], _time.thread_time() - _t0[1],
                            _time.time(), info["collected"]))
    gc.callbacks.append(_gc_cb)
    def _dump_gc(*_):
        Path = __import__("pathlib").Path
        Path(os.environ["BENCH_GCLOG"]).write_text(_json.dumps(_pauses)); os._exit(0)
    signal.signal(signal.SIGTERM, _dump_gc)
if os.environ.get("BENCH_PROFILE"):
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
    def dump(*_):
        profiler.disable(); profiler.dump_stats(os.environ["BENCH_PROFILE"]); os._exit(0)
    signal.signal(signal.SIGTERM, dump)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False, proxy_headers=False,
            backlog=16384, timeout_keep_alive=600)
"""

CLIENT = r"""
import asyncio, json, os, resource, sys, time
if os.environ.get("BENCH_CPUS"):
    os.sched_setaffinity(0, {{int(os.environ["BENCH_CPUS"].split(",")[0])}})
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, path, tokens_file, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
tokens = open(tokens_file).read().split()
latencies, opened, failed, received, reasons = [], 0, 0, 0, {{}}
def fail(reason):
    global failed
    failed += 1
    reasons[reason] = reasons.get(reason, 0) + 1
async def stream(token):
    global opened, failed, received
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {{path}} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {{token}}\r\n\r\n".encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 120)
        if b" 200 " not in status:
            fail(status.decode(errors="replace").strip() or "closed before answering")
            return
        opened += 1
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data:"):
                now = time.time()
                try:
                    t = json.loads(line[5:]).get("t")
                except ValueError:
                    continue
                if t:
                    latencies.append(now - t)
                    received += 1
    except (OSError, asyncio.TimeoutError) as exc:
        fail(type(exc).__name__)  # (counted as opened too when the stream broke after its 200)
async def main():
    tasks = []
    for i, token in enumerate(tokens):
        tasks.append(asyncio.create_task(stream(token)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    deadline = time.monotonic() + 180
    while opened + failed < len(tokens) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    print(json.dumps({{"phase": "open", "opened": opened, "failed": failed, "reasons": reasons}}), flush=True)
    sys.stdin.readline()  # the driver measures idle memory, then starts the events
    latencies.clear()
    await asyncio.sleep(seconds)
    await asyncio.sleep(1.0)
    print(json.dumps({{"phase": "done", "opened": opened, "failed": failed, "latencies": latencies,
                      "received": received}}), flush=True)
    for t in tasks:
        t.cancel()
asyncio.run(main())
"""


# /health is probed from its own process with blocking sockets, so what it measures is the server,
# not the stream client's busy event loop.
PROBE = r"""
import json, os, socket, sys, time
if os.environ.get("BENCH_CPUS"):
    os.sched_setaffinity(0, {int(os.environ["BENCH_CPUS"].split(",")[0])})
port, seconds = int(sys.argv[1]), float(sys.argv[2])
health = []
until = time.monotonic() + seconds
while time.monotonic() < until:
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass
        health.append(time.perf_counter() - t0)
    except OSError:
        health.append(30.0)
    time.sleep(0.02)
print(json.dumps(health), flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prepare(url: str, n: int, *, history: int) -> tuple[list[str], list[str]]:
    """n signed-in wallets (sessions written as sign-in writes them) and `history` old chain events."""
    from api.auth.store import token_hash
    from db.auth import auth_sessions
    from db.chain import chain_events
    from db.engine import make_engine
    from db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    addresses = ["0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8] for _ in range(n)]
    from eth_utils.address import to_checksum_address

    addresses = [to_checksum_address(a) for a in addresses]
    tokens = [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(n)]
    now = int(time.time())
    with engine.begin() as conn:
        conn.execute(
            insert(auth_sessions),
            [
                {
                    "token_hash": token_hash(t),
                    "address": a,
                    "chain_id": 31337,
                    "created_at": now,
                    "expires_at": now + 86400,
                }
                for t, a in zip(tokens, addresses, strict=True)
            ],
        )
        for start in range(0, history, 10_000):
            conn.execute(
                insert(chain_events),
                [
                    {
                        "chain_id": 31337,
                        "block_hash": "0x" + "11" * 32,
                        "log_index": i,
                        "block_number": 1 + i // 10,
                        "tx_hash": "0x" + "22" * 32,
                        "address": "0x" + "33" * 20,
                        "event": "EngagementCreated",
                        "args": json.dumps({"client": "0x" + "44" * 20, "provider": "0x" + "55" * 20}),
                    }
                    for i in range(start, min(history, start + 10_000))
                ],
            )
    engine.dispose()
    return tokens, addresses


def generate(url: str, mode: str, addresses: list[str], seconds: float) -> int:
    """RATE events/s for `seconds`, each naming AUDIENCE subscribers; the commit time is in `t`."""
    from bus import outbox
    from bus.outbox import OutboxItem
    from bus.wake import PostgresBus, _libpq_dsn
    from db.chain import chain_events
    from db.engine import make_engine

    engine = make_engine(url)
    bus = PostgresBus(_libpq_dsn(url))
    rng = random.Random(7)
    sent = 0
    start = time.monotonic()
    block = 10**6
    while time.monotonic() - start < seconds:
        due = start + sent / RATE
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        audience = rng.sample(addresses, min(AUDIENCE, len(addresses)))
        with engine.begin() as conn:
            if mode == "ours":
                outbox.append(
                    conn,
                    [OutboxItem("chain_event", frozenset(audience), {"name": "Bench", "t": time.time()})],
                )
            else:
                block += 1
                args = {"t": time.time(), "parties": audience}
                conn.execute(
                    insert(chain_events).values(
                        chain_id=31337,
                        block_hash=f"0x{block:064x}",
                        log_index=0,
                        block_number=block,
                        tx_hash="0x" + "77" * 32,
                        address="0x" + "88" * 20,
                        event="Bench",
                        args=json.dumps(args),
                    )
                )
        if mode == "ours":
            bus.wake()
        sent += 1
    engine.dispose()
    return sent


def run(mode: str, n: int, seconds: float, history: int) -> dict[str, float]:
    name = f"sc_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    data = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    port = free_port()
    server = client = None
    try:
        tokens, addresses = prepare(url, n, history=history)
        tokens_file = data / "tokens"
        tokens_file.write_text("\n".join(tokens))
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER.format(root=str(ROOT)), mode, str(port), url, str(data)],
            env=os.environ | {"SKILLCHAIN_LOG_LEVEL": "WARNING"},
        )
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        rss_before = rss_kib(server.pid)
        path = "/events/stream" if mode == "ours" else "/events/stream-previous"
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT.format(), str(port), path, str(tokens_file), str(seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None and client.stdin is not None
        opened = json.loads(client.stdout.readline())
        if opened["failed"]:
            print(f"  {opened['failed']} streams did not open: {opened['reasons']}", file=sys.stderr)
        time.sleep(2.0)
        rss_idle = rss_kib(server.pid)
        client.stdin.write("go\n")
        client.stdin.flush()
        cpu = cpu_seconds(server.pid), cpu_seconds(client.pid), time.process_time()
        spy = None
        if os.environ.get("BENCH_PYSPY"):  # a sampling profile of the server while events flow
            spy = subprocess.Popen(
                [
                    os.environ.get("PYSPY", "py-spy"),
                    "record",
                    "--format",
                    "raw",
                    "--threads",
                    "--nonblocking",
                    "-r",
                    "100",
                    "-p",
                    str(server.pid),
                    "-d",
                    str(int(seconds)),
                    "-o",
                    os.environ["BENCH_PYSPY"],
                ]
            )
        prober = subprocess.Popen(
            [sys.executable, "-c", PROBE, str(port), str(seconds)], stdout=subprocess.PIPE, text=True
        )
        sent = generate(url, mode, addresses, seconds)
        assert prober.stdout is not None
        health = json.loads(prober.stdout.readline())
        prober.wait()
        if spy is not None:
            spy.wait()
        cpu = cpu_seconds(server.pid) - cpu[0], cpu_seconds(client.pid) - cpu[1], time.process_time() - cpu[2]
        done = json.loads(client.stdout.readline())
        expected = sent * min(AUDIENCE, n) * (opened["opened"] / max(n, 1))
        return {
            "streams": n,
            "opened": opened["opened"],
            "failed": opened["failed"],
            "health_p99_ms": pct(health, 0.99) * 1000,
            "health_p50_ms": pct(health, 0.50) * 1000,
            "health_max_ms": max(health or [float("nan")]) * 1000,
            "health_n": len(health),
            "lag_p50_ms": pct(done["latencies"], 0.50) * 1000,
            "lag_p99_ms": pct(done["latencies"], 0.99) * 1000,
            "delivered_pct": 100.0 * done["received"] / expected if expected else 0.0,
            "rss_per_stream_kib": (rss_idle - rss_before) / max(opened["opened"], 1),
            "cpu_server_s": cpu[0],
            "cpu_client_s": cpu[1],
            "cpu_writer_s": cpu[2],
        }
    finally:
        for proc in (client, server):
            if proc is not None:
                if proc is server and (os.environ.get("BENCH_PROFILE") or os.environ.get("BENCH_GCLOG")):
                    proc.terminate()
                    proc.wait(timeout=30)
                proc.kill()
                proc.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--history", type=int, default=200_000, help="chain_events rows for the previous stream"
    )
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if (os.cpu_count() or 1) >= 2:  # contention between the four processes was most of the variance
        os.environ["BENCH_CPUS"] = "0,1"
        os.sched_setaffinity(0, {0})
        print("server pinned to CPU 1; client and event writer to CPU 0 (PostgreSQL unpinned)")
    print(f"open-file limit: {hard} (raised from {soft}); {RATE} events/s, {AUDIENCE} subscribers each")
    rows = [run("ours", args.streams, args.seconds, history=0)]
    previous = []
    for n in (50, 200, 1000)[
        : 0 if os.environ.get("ONLY_OURS") else 3
    ]:  # the previous stream, until it breaks
        r = run("previous", n, args.seconds, history=args.history)
        previous.append(r)
        if r["health_p99_ms"] > 1000 or r["delivered_pct"] < 50:
            break
    header = (
        f"{'stream':<10} {'streams':>8} {'opened':>7} {'/health p50':>12} {'p99':>9} {'max':>9} {'lag p50':>9} {'lag p99':>9} "
        f"{'delivered':>10} {'RSS/stream':>11} {'CPU server':>11} {'client':>7}"
    )
    print(header)
    for label, r in [("outbox", rows[0])] + [("previous", r) for r in previous]:
        print(
            f"{label:<10} {int(r['streams']):>8} {int(r['opened']):>7} {r['health_p50_ms']:>10.1f}ms "
            f"{r['health_p99_ms']:>7.1f}ms {r['health_max_ms']:>7.1f}ms "
            f"{r['lag_p50_ms']:>7.1f}ms {r['lag_p99_ms']:>7.1f}ms {r['delivered_pct']:>9.1f}% "
            f"{r['rss_per_stream_kib']:>8.1f}KiB {100 * r['cpu_server_s'] / args.seconds:>10.0f}% {100 * r['cpu_client_s'] / args.seconds:>6.0f}%"
        )
    if not previous:
        return
    worst = previous[-1]
    print(
        f"ratio (/health p99, previous at {int(worst['streams'])} streams / outbox at {int(rows[0]['streams'])}): "
        f"{worst['health_p99_ms'] / rows[0]['health_p99_ms']:.1f}x; targets: /health p99 <= 50 ms "
        f"({'met' if rows[0]['health_p99_ms'] <= 50 else 'NOT met'}), delivery p99 <= 250 ms "
        f"({'met' if rows[0]['lag_p99_ms'] <= 250 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
