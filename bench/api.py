"""API benchmark: with 10,000 listings and 100 concurrent clients on loopback, GET /listings?skill=...,
GET /users/{address} and GET /verify/credential/{chainId}/{tokenId} against a bare FastAPI JSON
endpoint served the same way (uvicorn, one worker), measured in the same run, p99 reported.
Targets: listings and users >= 0.5x the bare endpoint's requests/s (issue #9); verification <= 50 ms
p99 from the read model (issue #10). Then the hostile-body run (issue #23): four clients post a body of
unknown keys just under the 1 MiB limit in a loop while one client polls /health; the body must be
refused in <= 50 ms p99 and /health answer in <= 20 ms p99. The same bodies go to a bare FastAPI
endpoint with a strict pydantic model (the v1 behaviour) in the same run.

    make bench-api        (or: .venv/bin/python bench/api.py [--seconds 8])
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

SERVER = r"""
import sys, json
sys.path.insert(0, {root!r})
import uvicorn
mode, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "bare":
    from fastapi import FastAPI
    app = FastAPI()
    @app.get("/bare")
    def bare() -> dict:
        return {{"data": [{{"id": 1, "title": "hello"}}], "count": 1}}
    from pydantic import BaseModel, ConfigDict
    class Presentation(BaseModel):
        model_config = ConfigDict(extra="forbid")
        address: str
        challenge: str
        signature: str
    @app.post("/verify/presentation")
    def presentation(body: Presentation) -> dict:
        return {{"ok": True}}
    @app.get("/health")
    def health() -> dict:
        return {{"status": "ok"}}
else:
    from api.app import create_app
    from skillchain.settings import Settings
    app = create_app(Settings(data_dir=data, database_url=f"sqlite:///{{data}}/api.db", payments_worker=False,
                              auth_rate_limit=0))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(data: Path) -> tuple[str, str]:
    """10,000 listings, 2,000 profiles, a credential in the read model."""
    from sqlalchemy import insert

    from db.chain import credentials, reputation
    from db.engine import make_engine
    from db.market import listings, profiles
    from db.migrate import upgrade

    engine = make_engine(f"sqlite:///{data}/api.db")
    upgrade(engine)
    skills = ["solidity", "python", "guitar", "spanish", "ui-design", "defi", "rust", "piano", "sql", "go"]
    owners = [f"0x{i:040x}" for i in range(1, 2001)]
    now = int(time.time())
    with engine.begin() as conn:
        conn.execute(
            insert(profiles),
            [
                {
                    "address": o,
                    "display_name": f"Mentor {i}",
                    "bio": "teaches",
                    "skills": json.dumps([skills[i % 10]]),
                    "hourly_rate": 50,
                    "languages": '["en"]',
                    "timezone": "Europe/Berlin",
                    "avatar_cid": None,
                    "updated_at": now,
                }
                for i, o in enumerate(owners)
            ],
        )
        conn.execute(
            insert(listings),
            [
                {
                    "owner": owners[i % 2000],
                    "kind": "offer",
                    "skill": skills[i % 10],
                    "title": f"Lesson {i}",
                    "description": "A patient mentor",
                    "price": 10 + i % 190,
                    "currency": "USD",
                    "languages": '["en"]',
                    "timezone": "Europe/Berlin",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(10_000)
            ],
        )
        conn.execute(
            insert(reputation),
            [
                {
                    "chain_id": 31337,
                    "subject": o,
                    "provider_count": 3,
                    "provider_sum": 13,
                    "client_count": 0,
                    "client_sum": 0,
                }
                for o in owners
            ],
        )
        token = str(int.from_bytes(b"\x01" * 32, "big"))
        conn.execute(
            insert(credentials).values(
                chain_id=31337,
                token_id=token,
                holder=owners[0],
                issuer=owners[1],
                skill_id="0x" + "11" * 32,
                issued_at=now,
                expires_at=0,
                engagement_id=0,
                revoked=False,
                revoke_reason=None,
                burned=False,
                block_number=1,
                tx_hash="0x" + "22" * 32,
            )
        )
    return owners[0], token


async def load(url: str, seconds: float, clients: int) -> tuple[float, float, int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                response = await client.get(url)
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1  # counted, and the latency below includes the wait
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 100 else float("nan")
    return len(latencies) / elapsed, p99, errors


POLLER = r"""
import sys, time, json, httpx
url, seconds = sys.argv[1], float(sys.argv[2])
out = []
deadline = time.perf_counter() + seconds
with httpx.Client(timeout=60) as client:
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        client.get(url)
        out.append(time.perf_counter() - start)
        time.sleep(0.01)
print(json.dumps(out))
"""


async def hostile(base: str, seconds: float) -> tuple[float, float, int, float]:
    """Hostile bodies while another process polls /health: (body p99 ms, health p99 ms, bodies, answer
    bytes). The poller is its own process so the attackers' client work does not delay its clock."""
    body = json.dumps({f"k{i}": 0 for i in range(72_000)}).encode()  # ~1.0 MB of unknown keys
    refusals: list[float] = []
    sizes: list[int] = []
    deadline = time.perf_counter() + seconds
    poller = subprocess.Popen(
        [sys.executable, "-c", POLLER, f"{base}/health", str(seconds)], stdout=subprocess.PIPE, text=True
    )

    async def attacker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = await client.post(
                f"{base}/verify/presentation", content=body, headers={"content-type": "application/json"}
            )
            refusals.append(time.perf_counter() - start)
            sizes.append(len(response.content))

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(attacker(client) for _ in range(4)))
    health = json.loads(poller.communicate(timeout=600)[0] or "[]")

    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100)[98] * 1000 if len(values) > 2 else float("nan")

    return p99(refusals), p99(health), len(refusals), statistics.mean(sizes) if sizes else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=100)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="skillchain-bench-api-"))
    holder, token = seed(data)
    script = data / "server.py"
    script.write_text(SERVER.format(root=str(ROOT)))
    procs, ports = [], {}
    for mode in ("bare", "app"):
        ports[mode] = free_port()
        procs.append(subprocess.Popen([sys.executable, str(script), mode, str(ports[mode]), str(data)]))
    try:
        for mode, port in ports.items():
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/{'bare' if mode == 'bare' else 'health'}", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
        targets = [
            ("bare FastAPI JSON endpoint", f"http://127.0.0.1:{ports['bare']}/bare"),
            ("GET /listings?skill=python", f"http://127.0.0.1:{ports['app']}/listings?skill=python"),
            ("GET /users/{address}", f"http://127.0.0.1:{ports['app']}/users/{holder}"),
            (
                "GET /verify/credential/...",
                f"http://127.0.0.1:{ports['app']}/verify/credential/31337/{token}",
            ),
        ]
        rows = []
        for label, url in targets:
            asyncio.run(load(url, 1.0, 10))  # warm up
            rows.append((label, *asyncio.run(load(url, args.seconds, args.clients))))
        base = rows[0][1]
        print(
            f"{args.clients} concurrent clients, {args.seconds:.0f} s each, 10,000 listings (2 cores, client and server share them)"
        )
        print(f"{'endpoint':<30} {'req/s':>8} {'vs bare':>8} {'p99 ms':>8} {'errors':>7}")
        for label, rate, p99, errors in rows:
            print(f"{label:<30} {rate:>8.0f} {rate / base:>7.2f}x {p99:>8.1f} {errors:>7}")
        print()
        print("hostile bodies: 4 clients posting ~1 MB of unknown keys; another process polls /health")
        print(f"{'server':<34} {'body p99 ms':>11} {'health p99 ms':>13} {'bodies':>7} {'answer bytes':>12}")
        for label, mode in (("ours (body guard)", "app"), ("bare FastAPI + strict pydantic", "bare")):
            body_p99, health_p99, count, size = asyncio.run(
                hostile(f"http://127.0.0.1:{ports[mode]}", args.seconds)
            )
            verdict = "ok" if mode == "bare" or (body_p99 <= 50 and health_p99 <= 20) else "MISSED"
            print(
                f"{label:<34} {body_p99:>11.1f} {health_p99:>13.1f} {count:>7} {size:>12.0f}  {verdict if mode == 'app' else ''}"
            )
        print("targets for ours: body <= 50 ms p99, /health <= 20 ms p99")
    finally:
        for p in procs:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
