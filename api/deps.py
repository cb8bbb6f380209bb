"""Dependencies shared by routes: settings, database connections, the signed-in wallet."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from api.auth.store import Session, find_session
from api.messages.sealing import Sealer
from chain.records import DeploymentRecord, load_record, record_path
from chain.txbuilder import TxBuilder
from ipfs.store import ContentStore
from skillchain.settings import Settings


# The dependencies that only read app.state are coroutines: FastAPI runs a plain function dependency
# in a worker thread, one hop each per request (bench/messages.py: with a dozen per send, the hops and
# their GIL hand-offs cost more than the route).
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """One transaction per request: committed when the route returns (before the answer is sent, see
    ConnDep), rolled back on an error."""
    with engine.begin() as conn:
        yield conn


def published(request: Request, conn: Connection) -> None:
    """For a route that appended to the outbox: commit now, in this thread, and wake the streams.

    An outbox writer holds the outbox's lock (bus/outbox.py) until its transaction ends. Committing
    here — rather than when the request's dependency closes, which needs another worker thread —
    means the lock is never held by a request waiting for a thread that the lock's waiters occupy
    (measured with bench/messages.py: 40 concurrent sends otherwise deadlocked the process)."""
    conn.commit()
    request.app.state.hub.written()


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_clock(request: Request) -> Callable[[], float]:
    """The app's clock (`app.state.clock`, time.time unless a test sets another): holds, notice and
    windows are decided by it, so tests move time instead of sleeping."""
    clock: Callable[[], float] = request.app.state.clock
    return clock


ClockDep = Annotated[Callable[[], float], Depends(get_clock)]
# scope="function": the transaction commits when the route returns, *before* the answer is sent —
# FastAPI's default runs a yield dependency's exit after sending, so a client could read before its
# own write committed (and a crash in between would lose a write already answered 201).
ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="Session token from POST /auth/verify")


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def current_session(conn: ConnDep, credentials: BearerDep) -> Session:
    # The request's own connection (FastAPI shares a dependency within a request): taking a second
    # one from the pool while holding the first can deadlock the pool under load.
    return signed_in(conn, credentials)


def signed_in(conn: Connection, credentials: HTTPAuthorizationCredentials | None) -> Session:
    """The session the bearer token names, or 401 in words (current_session's work, for a route that
    does all its database work in one worker-thread call)."""
    if credentials is None:
        raise HTTPException(401, "sign in first: send 'Authorization: Bearer <session token>'")
    session = find_session(conn=conn, token=credentials.credentials, now=int(time.time()))
    if session is None:
        raise HTTPException(401, "session unknown, expired or signed out")
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


# ------------------------------------------------------------------ chain and content


class ChainContext:
    """The deployment the API prepares transactions for, and its read-model chain id."""

    def __init__(self, record: DeploymentRecord, builder: TxBuilder) -> None:
        self.record = record
        self.chain_id = record.chain_id
        self.builder = builder


def get_chain(settings: SettingsDep) -> ChainContext:
    path = record_path(
        settings.chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir
    )
    mtime = path.stat().st_mtime if path.exists() else 0.0
    record = _cached_record(str(path), mtime)
    if record is None:
        raise HTTPException(503, f"contracts are not deployed on chain {settings.chain_id} yet (no {path})")
    return ChainContext(record, _cached_builder(str(path), mtime, settings.effective_rpc_url))


@lru_cache(maxsize=8)
def _cached_builder(path: str, mtime: float, rpc_url: str) -> TxBuilder:
    """One builder (and its RPC connection) per deployment record and endpoint."""
    record = _cached_record(path, mtime)
    assert record is not None  # only called once the record was found
    return TxBuilder(record, rpc_url=rpc_url)


@lru_cache(maxsize=8)
def _cached_record(path: str, _mtime: float) -> DeploymentRecord | None:
    return load_record(Path(path))


def get_store(request: Request) -> ContentStore:
    store: ContentStore = request.app.state.store
    return store


ChainDep = Annotated[ChainContext, Depends(get_chain)]


def stablecoin_of(settings: Settings, chain: ChainContext) -> str | None:
    """The stablecoin fiat prices and card payments are paid in: configured, else the local tUSD."""
    if settings.stablecoin:
        return settings.stablecoin
    return chain.record.address_of("TestStablecoin") if "TestStablecoin" in chain.record.contracts else None


def configured_arbiters(settings: Settings, chain: ChainContext) -> list[str]:
    """ARBITER_ROLE holders an engagement may name by default: configured, else those deployed."""
    return list(settings.arbiters or chain.record.parameters.get("arbiters", []))


def neutral_arbiter(
    settings: Settings, chain: ChainContext, named: str | None, parties: tuple[str | None, ...]
) -> str:
    """The arbiter an engagement will name (the one asked for, else the first configured), refused in
    words when there is none or it is a party."""
    arbiters = configured_arbiters(settings, chain)
    arbiter = named or (arbiters[0] if arbiters else None)
    if arbiter is None:
        raise HTTPException(400, "no arbiter configured: name one (an ARBITER_ROLE holder)")
    if arbiter in parties:
        raise HTTPException(400, "the arbiter cannot be a party")
    return arbiter


StoreDep = Annotated[ContentStore, Depends(get_store)]


async def get_sealer(request: Request) -> Sealer:
    """The key ring that encrypts messages and attachments at rest."""
    sealer: Sealer = request.app.state.sealer
    return sealer


SealerDep = Annotated[Sealer, Depends(get_sealer)]


def require_admin(session: CurrentSession, settings: SettingsDep) -> Session:
    if session.address.lower() not in {a.lower() for a in settings.admins}:
        raise HTTPException(403, "admin routes are for the wallets in SKILLCHAIN_ADMINS")
    return session


AdminSession = Annotated[Session, Depends(require_admin)]


def document_quota(request: Request, session: CurrentSession) -> None:
    """Dependency of every route that stores a document for the signed-in wallet: a per-wallet hourly
    quota (SKILLCHAIN_DOCUMENT_QUOTA), so no wallet can make the server store and pin without limit."""
    charge_documents(request, session.address, 1)


def charge_documents(request: Request, address: str, count: int) -> None:
    """Count `count` documents against the wallet's hourly quota (a batch counts each of its items)."""
    quota = request.app.state.settings.document_quota
    if quota and count > quota:
        raise HTTPException(
            413, f"this request would store {count} documents; at most {quota} an hour are allowed"
        )
    wait = request.app.state.document_limiter.check(address, cost=count)
    if wait is not None:
        raise HTTPException(
            429,
            "you have stored the most documents an hour allows; try again later",
            headers={"Retry-After": str(wait)},
        )


DocumentQuota = Depends(document_quota)
