"""Request ids, structured access logs and Prometheus metrics of every request.

A pure ASGI middleware (no per-request BaseHTTPMiddleware task): it gives each request an id (the
client's `X-Request-ID` when it is a plain token, else a new one), returns it in the answer, makes it
available to every log line of the request, counts the request and times it by route template.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("skillchain.access")

REQUESTS = Counter("skillchain_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "skillchain_http_request_seconds",
    "Time to the response's first byte, by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STREAMS = Gauge("skillchain_stream_subscribers", "Open live streams in this process")
STREAM_LAG = Histogram(
    "skillchain_stream_delivery_lag_seconds",
    "From an outbox item's commit to its hand-over to the streams (bus and reader lag)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
INDEXER_LAG = Gauge("skillchain_indexer_lag_blocks", "Chain head minus the read model's block (at scrape)")
PAYMENT_JOBS = Gauge("skillchain_payment_jobs", "Payment jobs by status (at scrape)", ["status"])
RELAYER_FEE_CAP = Counter(
    "skillchain_relayer_fee_cap_reached_total",
    "Stuck relayer transactions left unreplaced because a replacement would pay above the fee cap",
)
REFUNDS_FAILED = Counter(
    "skillchain_card_refunds_failed_total",
    "Card refunds the provider reports failed (money owed back by hand)",
)
RELAYER_REPLACED = Counter(
    "skillchain_relayer_replacements_total",
    "Stuck relayer transactions re-sent at the same nonce, higher fees",
)


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _VALID_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        timed = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, timed
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                _observe(scope, status, time.perf_counter() - started)
                timed = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not timed:
                _observe(scope, status, time.perf_counter() - started)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            REQUEST_ID.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _observe(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or "unmatched"  # a template, never a raw path: bounded labels
    REQUESTS.labels(scope["method"], template, str(status)).inc()
    LATENCY.labels(scope["method"], template).observe(seconds)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any extra fields."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str, *, json_lines: bool) -> None:
    """Logs of every `skillchain` component to stderr, as JSON lines or plain text."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger("skillchain")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
