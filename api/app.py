"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.auth.eip1271 import RpcEip1271Checker
from api.auth.ratelimit import RateLimiter, open_storage, trusted_networks
from api.auth.routes import router as auth_router
from api.bodyguard import BodyGuard
from api.booking.change_routes import router as booking_change_router
from api.booking.free_index import FreeIndexPass
from api.booking.routes import router as booking_router
from api.concurrency import ConcurrencyLimit
from api.gc_pacing import collect_young_on_a_clock, tune_gc
from api.mail.routes import router as mail_router
from api.mail.worker import Mailer
from api.messages.routes import ATTACHMENT_PATH
from api.messages.routes import router as messages_router
from api.messages.sealing import open_sealer
from api.messages.service import stream_opener
from api.notifications.reminders import Reminders
from api.notifications.routes import router as notifications_router
from api.observability import STREAMS, RequestContext
from api.offers.routes import router as offers_router
from api.payments import routes as payment_routes
from api.payments.setup import start_payments
from api.room.relay import SignalWriter, SignalWriters
from api.room.routes import router as room_router
from api.routes import account, credentials, engagements, market, matching, ops, transactions, wallet
from api.routes.avatars import router as avatars_router
from api.stream.hub import StreamHub
from api.stream.routes import router as stream_router
from bus.wake import open_bus
from chain.records import load_record, record_path
from db.engine import make_engine
from db.migrate import upgrade
from ipfs.backend import open_store
from ipfs.gateway import gateway_router
from ipfs.store import EmbeddedStore
from skillchain import __version__
from skillchain.settings import LOCAL_CHAIN_ID, Settings, get_settings

# What the dApp needs and nothing more: its own scripts, styles and API; media and images from itself
# (and blob:/data: for avatars and the session room); never framed, never posting elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


TAGS = [
    {"name": "auth", "description": "Sign-In with Ethereum (EIP-4361): nonce, verify, logout."},
    {"name": "marketplace", "description": "Profiles, listings and search."},
    {"name": "engagements", "description": "Escrowed engagements: ready-to-sign, simulated transactions."},
    {"name": "offers", "description": "Offers a provider signs once (EIP-712) and clients fund."},
    {"name": "credentials", "description": "Soulbound credentials: issue, vouchers, revoke, verify."},
    {"name": "payments", "description": "Card payments (Stripe) funding escrow through the relayer."},
    {"name": "matching", "description": "Recommendations and semantic search from the marketplace's data."},
    {"name": "account", "description": "Your own data: export and erasure."},
    {
        "name": "messages",
        "description": "Inquiries on a listing and a thread per engagement: encrypted at rest, live on "
        "the stream.",
    },
    {
        "name": "room",
        "description": "A booked session's room: WebRTC between the two parties, signalled over "
        "/rooms/{booking_id}/ws (docs/room.md).",
    },
    {"name": "notifications", "description": "What concerns you, with read state; also on the live stream."},
    {"name": "transactions", "description": "Where a sent transaction stands: pending, indexed, reverted."},
    {
        "name": "stream",
        "description": "Your live stream (server-sent events): resumable with Last-Event-ID, fanned out "
        "from the outbox.",
    },
    {"name": "admin", "description": "Operators (SKILLCHAIN_ADMINS): accreditation, statistics, risk."},
    {"name": "ops", "description": "Health, readiness and Prometheus metrics."},
    {"name": "ipfs", "description": "A trustless IPFS gateway over the embedded store."},
]
SWAGGER_DIR = Path(__file__).resolve().parents[1] / "node_modules" / "swagger-ui-dist"


def _operation_id(route: APIRoute) -> str:
    """Readable, stable operation ids: `<tag>.<function>` (e.g. `engagements.prepare_submit`)."""
    return f"{route.tags[0]}.{route.name}" if route.tags else route.name


def accepted_chain_ids(settings: Settings) -> frozenset[int]:
    """Configured ids, else those with a known deployment, else the local chain."""
    if settings.chain_ids:
        return frozenset(settings.chain_ids)
    known = {
        int(p.stem)
        for folder in (settings.data_dir / "deployments", settings.deployments_dir)
        if folder.exists()
        for p in folder.glob("*.json")
        if p.stem.isdigit()
    }
    return frozenset(known or {LOCAL_CHAIN_ID})


def rpc_urls(settings: Settings) -> dict[int, str]:
    urls = dict(settings.rpc_urls)
    local = record_path(
        settings.chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir
    )
    if settings.rpc_url is None or load_record(local) is not None:
        urls.setdefault(settings.chain_id, settings.effective_rpc_url)
    return urls


class ResponseHeaders:
    """Pure ASGI (a BaseHTTPMiddleware would pipe every streamed chunk through memory streams):
    security headers and `Cache-Control: no-store` on every answer that does not set its own, and a
    405's `Allow` listing every method the path supports (Starlette lists only the first route's)."""

    def __init__(self, app: ASGIApp, allowed: Callable[[str], set[str]]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # API answers are live read-model state: never let a browser or proxy reuse them.
                # (The IPFS gateway and the dApp's files set their own caching.)
                headers.setdefault("Cache-Control", "no-store")
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not path.startswith(("/docs", "/redoc")):  # Swagger UI loads its own assets
                    headers.setdefault("Content-Security-Policy", CSP)
                if message["status"] == 405 and (methods := self.allowed(path)):
                    headers["Allow"] = ", ".join(sorted(methods))
            await send(message)

        await self.app(scope, receive, send_with_headers)


_ALLOWED: dict[int, list[tuple[re.Pattern[str], set[str]]]] = {}


class ImmutableStatic(StaticFiles):
    """Static files whose names carry their content hash: cache them for a year."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """Every method some route of `app` accepts at `path` (patterns built once, from the schema)."""
    allowed = _ALLOWED.get(id(app))
    if allowed is None:
        allowed = []
        for template, operations in app.openapi()["paths"].items():
            shapes: dict[str, str] = {}
            for op in operations.values():
                for p in op.get("parameters", []):
                    schema = p.get("schema", {})
                    if p.get("in") != "path":
                        continue
                    if "pattern" in schema:
                        shapes[p["name"]] = schema["pattern"].removeprefix("^").removesuffix("$")
                    elif schema.get("type") == "integer":
                        shapes[p["name"]] = "-?[0-9]+"

            def piece(m: re.Match[str], shapes: dict[str, str] = shapes) -> str:
                return f"(?:{shapes.get(m.group(1), '[^/]+')})"

            pattern = re.compile("^" + re.sub(r"\{([^/]+)\}", piece, template) + "$")
            allowed.append((pattern, {m.upper() for m in operations}))
        _ALLOWED[id(app)] = allowed
    return set().union(*(m for p, m in allowed if p.match(path)))


# asyncio.to_thread's pool (database work of the live streams and room sockets): the default is
# cpu + 4 threads, six here, which the room's signalling saturated (bench/messages.py).
BLOCKING_THREADS = 32


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=BLOCKING_THREADS, thread_name_prefix="api-blocking")
    )
    warm_routes(app)
    app.state.mailer.start()  # only when SMTP is configured
    app.state.reminders.start()
    app.state.free_index.start()
    payments = app.state.payments
    if payments is not None and app.state.settings.payments_worker:
        payments.start_worker()
    young = asyncio.create_task(collect_young_on_a_clock(), name="gc-young")
    yield
    young.cancel()
    # The stream hub's reader thread and its bus subscription end with the server.
    app.state.mailer.stop()
    app.state.reminders.stop()
    app.state.free_index.stop()
    if payments is not None:
        await asyncio.to_thread(payments.stop_worker)
    await asyncio.to_thread(app.state.hub.stop)


def warm_routes(app: FastAPI) -> None:
    """Build every router's route table now. FastAPI builds an included router's table on the first
    request that reaches it: 100-200 ms of this API's routes on the event loop, which stalled every
    open stream and request at once (the first /health after the streams opened, bench/stream.py).
    A path no route matches walks every router through Starlette's public `matches`."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/.warm-up/none",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in app.router.routes:
        route.matches(scope)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    tune_gc()
    app = FastAPI(
        title="Skillchain API",
        version=__version__,
        description="Escrowed skill engagements, reviews and soulbound credentials on Ethereum.",
        openapi_tags=TAGS,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served below from the vendored Swagger UI: no CDN at run time
        redoc_url=None,
        lifespan=_lifespan,
    )
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    app.state.settings = settings
    app.state.clock = time.time  # injectable: tests set their own
    app.state.engine = engine
    limits = open_storage(settings.redis_url)  # in memory, or in Redis shared by every replica
    app.state.auth_limiter = RateLimiter(settings.auth_rate_limit, storage=limits, name="signin")
    app.state.public_limiter = RateLimiter(settings.public_write_rate_limit, storage=limits, name="public")
    app.state.document_limiter = RateLimiter(
        settings.document_quota, 3600.0, storage=limits, name="documents"
    )
    app.state.message_limiter = RateLimiter(settings.message_rate_limit, storage=limits, name="messages")
    app.state.typing_limiter = RateLimiter(1, 3.0, storage=limits, name="typing")  # one signal / 3 s
    app.state.confirmation_limiter = RateLimiter(1, 60.0, storage=limits, name="confirmation-mail")
    secret = settings.message_keys.get_secret_value() if settings.message_keys else None
    app.state.sealer = open_sealer(secret, settings.data_dir)
    app.state.trusted_proxies = trusted_networks(settings.trusted_proxies)
    app.state.accepted_chain_ids = accepted_chain_ids(settings)
    app.state.eip1271 = RpcEip1271Checker(rpc_urls(settings))
    app.state.signin_checker = RpcEip1271Checker(rpc_urls(settings), counterfactual=True)  # + ERC-6492
    app.add_middleware(
        BodyGuard,
        limit=settings.max_body_bytes,
        # Attachments are larger than any JSON body: the form's overhead on top of the file's limit.
        larger=[(ATTACHMENT_PATH, settings.message_attachment_bytes + 64 * 1024)],
    )
    app.add_middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests)
    app.add_middleware(RequestContext)  # outermost: ids, access log and metrics of every answer
    problems.install(app)
    store = open_store(
        data_dir=settings.data_dir, kubo_api=str(settings.ipfs_api) if settings.ipfs_api else None
    )
    app.state.store = store
    app.state.hub = StreamHub(
        engine,
        open_bus(settings.effective_database_url, settings.redis_url),
        per_user=settings.stream_per_user,
        retention=settings.outbox_retention,
        open_item=stream_opener(app.state.sealer),
    )
    STREAMS.set_function(app.state.hub.count)
    app.state.mailer = Mailer(engine, settings, clock=lambda: float(app.state.clock()))
    app.state.reminders = Reminders(
        engine, clock=lambda: float(app.state.clock()), written=app.state.hub.written
    )
    app.state.free_index = FreeIndexPass(engine, clock=lambda: float(app.state.clock()))
    app.state.signal_writers = SignalWriters(
        lambda: SignalWriter(
            engine, app.state.sealer, lambda: float(app.state.clock()), app.state.hub.written
        )
    )
    app.include_router(auth_router)
    app.include_router(market.router)
    app.include_router(avatars_router)
    app.include_router(engagements.router)
    app.include_router(offers_router)
    app.include_router(account.router)
    app.include_router(stream_router)
    app.include_router(mail_router)
    app.include_router(transactions.router)
    app.include_router(wallet.router)
    app.include_router(booking_router)
    app.include_router(booking_change_router)
    app.include_router(messages_router)
    app.include_router(room_router)
    app.include_router(notifications_router)
    app.include_router(credentials.router)
    app.include_router(payment_routes.router)
    app.include_router(matching.router)
    app.state.payments = start_payments(settings, engine)
    app.include_router(ops.router)
    # The trustless gateway serves the embedded store; with Kubo, Kubo's own gateway does that job.
    app.include_router(
        gateway_router(
            store if isinstance(store, EmbeddedStore) else EmbeddedStore(settings.data_dir / "ipfs")
        )
    )

    app.add_middleware(ResponseHeaders, allowed=lambda path: allowed_methods(app, path))

    if SWAGGER_DIR.is_dir():
        app.mount("/docs-assets", StaticFiles(directory=SWAGGER_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Any:
        if not SWAGGER_DIR.is_dir():
            return problems.problem(
                503, "the API docs need `make setup` (Swagger UI comes from npm)", "unavailable"
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Skillchain API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    # The dApp (web/, built by `make setup` into web/dist): index.html is never cached, so a new
    # build reaches every visitor at once; its assets have content hashes in their names and are
    # cached for a year.
    dist = Path(__file__).resolve().parents[1] / "web" / "dist"
    if (dist / "assets").is_dir():
        app.mount("/assets", ImmutableStatic(directory=dist / "assets"), name="web-assets")

    @app.get("/", include_in_schema=False)
    def index() -> Any:
        if not (dist / "index.html").is_file():
            return problems.problem(503, "the dApp is not built yet: run `make setup`", "unavailable")
        return FileResponse(dist / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/health", tags=["ops"], summary="Liveness: answers whenever the process is up")
    async def health() -> dict[str, str]:  # on the loop: no thread hop for a constant answer
        return {"status": "ok", "version": __version__}

    return app
