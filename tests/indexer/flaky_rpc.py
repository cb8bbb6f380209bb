"""A deliberately unreliable JSON-RPC proxy in front of anvil, for the indexer's resilience test:
a fixed share of calls (every third for 30%) time out, answer 429 or 5xx, or refuse an eth_getLogs
range as providers do, the kind rotating so every kind happens in every run."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.net import serving


@contextmanager
def running_flaky_proxy(
    upstream: str, *, failure_rate: float, seed: int
) -> Iterator[tuple[str, Counter[str]]]:
    lock = threading.Lock()
    calls = [0]
    rotation = [seed]
    kinds = ["range", "timeout", "429", "5xx"]
    every = max(1, round(1 / failure_rate)) if failure_rate < 1 else 1
    stats: Counter[str] = Counter()
    client = httpx.Client(timeout=30)

    async def handle(request: Request) -> Response:
        body = await request.body()
        payload = await request.json()
        method = payload.get("method")
        params = (payload.get("params") or [{}])[0] if method == "eth_getLogs" else {}
        ranged = (
            isinstance(params, dict)
            and "fromBlock" in params
            and (int(params.get("toBlock", "0x0"), 16) > int(params.get("fromBlock", "0x0"), 16))
        )
        with lock:  # a deterministic schedule: every `every`-th call fails, the kind rotating
            calls[0] += 1
            kind = "ok"
            if calls[0] % every == 0:
                kind = kinds[rotation[0] % len(kinds)]
                if kind == "range" and not ranged:
                    kind = kinds[(rotation[0] + 1) % len(kinds)]
                rotation[0] += 1
        if kind == "range":
            stats["range"] += 1
            error = {"code": -32005, "message": "query returned more than 10000 results"}
            return JSONResponse({"jsonrpc": "2.0", "id": payload["id"], "error": error})
        if kind == "timeout":
            stats["timeout"] += 1
            time.sleep(1.5)  # longer than the client's timeout
        elif kind == "429":
            stats["429"] += 1
            return Response("rate limited", status_code=429, headers={"Retry-After": "0"})
        elif kind == "5xx":
            stats["5xx"] += 1
            return Response("upstream unavailable", status_code=503)
        upstream_response = client.post(upstream, content=body, headers={"Content-Type": "application/json"})
        return Response(upstream_response.content, media_type="application/json")

    app = Starlette(routes=[Route("/", handle, methods=["POST"])])
    try:
        with serving(app) as url:
            yield url, stats
    finally:
        client.close()
