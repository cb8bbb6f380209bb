"""Dependencies shared by routes: settings, database connections, the signed-in wallet."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from api.auth.store import Session, find_session
from skillchain.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """One transaction per request: committed when the route returns, rolled back on an error."""
    with engine.begin() as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings)]
ConnDep = Annotated[Connection, Depends(get_conn)]
_bearer = HTTPBearer(auto_error=False, description="Session token from POST /auth/verify")


def current_session(
    engine: Annotated[Engine, Depends(get_engine)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    if credentials is None:
        raise HTTPException(401, "sign in first: send 'Authorization: Bearer <session token>'")
    with engine.connect() as conn:
        session = find_session(conn=conn, token=credentials.credentials, now=int(time.time()))
    if session is None:
        raise HTTPException(401, "session unknown, expired or signed out")
    return session


CurrentSession = Annotated[Session, Depends(current_session)]
