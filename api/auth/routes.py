"""Sign-in routes: GET /auth/nonce, POST /auth/verify, POST /auth/logout."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from api.auth import siwe
from api.auth.ratelimit import client_address, public_write_limited
from api.auth.store import consume_nonce, create_session, new_nonce, revoke_session
from api.deps import ConnDep, CurrentSession, SettingsDep
from api.models import ERRORS


class NoncePublic(BaseModel):
    """The nonce and everything else the sign-in message must say, so a client guesses nothing."""

    nonce: str
    expires_in: int = Field(description="seconds until the nonce can no longer be used")
    domain: str = Field(description="the message's domain (its first line)")
    uri: str = Field(description="the message's URI: http(s) on this origin")
    version: str = "1"
    chain_ids: list[int] = Field(description="chain ids a message may name")
    statement: str = Field(description="a suggested statement")


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(max_length=siwe.MAX_MESSAGE_BYTES, description="the EIP-4361 message text")
    signature: str = Field(
        max_length=2 + 2 * 8192, pattern=r"^0x([0-9a-fA-F]{2})*$", description="hex signature"
    )


class SessionPublic(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>'")
    address: str
    chain_id: int
    expires_at: int


class SignedOut(BaseModel):
    signed_out: bool


def _rate_limited(request: Request) -> None:
    limiter = request.app.state.auth_limiter
    wait = limiter.check(client_address(request))
    if wait is not None:
        raise HTTPException(
            429, "too many sign-in requests; try again later", headers={"Retry-After": str(wait)}
        )


router = APIRouter(prefix="/auth", tags=["auth"], responses=ERRORS)


@router.get(
    "/nonce",
    response_model=NoncePublic,
    summary="A single-use nonce, and what the sign-in message must say",
    dependencies=[Depends(public_write_limited)],  # each nonce is a row: an unauthenticated write
)
def get_nonce(request: Request, conn: ConnDep, settings: SettingsDep) -> NoncePublic:
    from api.auth.store import NONCE_TTL

    domain = settings.effective_siwe_domain
    return NoncePublic(
        nonce=new_nonce(conn=conn, now=int(time.time())),
        expires_in=NONCE_TTL,
        domain=domain,
        uri=f"http://{domain}" if not settings.public_url else settings.public_url,
        chain_ids=sorted(request.app.state.accepted_chain_ids),
        statement="Sign in to Skillchain",
    )


@router.post(
    "/verify",
    response_model=SessionPublic,
    summary="Exchange a signed EIP-4361 message for a session (rate-limited: sign-ins per client)",
    dependencies=[Depends(_rate_limited)],
    responses={401: {"description": "the message or signature is not acceptable"}},
)
def post_verify(body: VerifyRequest, request: Request, conn: ConnDep, settings: SettingsDep) -> SessionPublic:
    now = datetime.now(UTC)
    try:
        parsed = siwe.verify(
            body.message,
            body.signature,
            domain=settings.effective_siwe_domain,
            nonce=None,  # checked below against the store, atomically
            now=now,
            uri_origin=settings.effective_siwe_domain,
            chain_ids=request.app.state.accepted_chain_ids,
            eip1271=request.app.state.signin_checker,
            check_issued_at=True,
        )
    except siwe.MalformedMessage as exc:
        raise HTTPException(400, f"malformed sign-in message: {exc}") from None
    except siwe.SiweError as exc:
        raise HTTPException(401, f"{exc.reason}: {exc}") from None
    stamp = int(now.timestamp())
    if not consume_nonce(conn=conn, nonce=parsed.nonce, now=stamp):
        raise HTTPException(401, "nonce_mismatch: unknown, expired or already used nonce")
    token, expires = create_session(
        conn=conn, address=parsed.address, chain_id=parsed.chain_id, now=stamp, ttl=settings.session_ttl
    )
    return SessionPublic(token=token, address=parsed.address, chain_id=parsed.chain_id, expires_at=expires)


@router.post("/logout", response_model=SignedOut, summary="Revoke the current session")
def post_logout(
    session: CurrentSession,
    conn: ConnDep,
    credentials: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())],
) -> SignedOut:
    return SignedOut(
        signed_out=revoke_session(conn=conn, token=credentials.credentials, now=int(time.time()))
    )
