"""Your e-mail address for notifications (add, confirm by link, remove) and the one-click unsubscribe
link every mail carries (RFC 8058)."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import ClockDep, ConnDep, CurrentSession, SettingsDep
from api.mail import service, smtp
from api.mail.schemas import EmailIn, EmailPublic
from api.models import ERRORS

router = APIRouter(tags=["notifications"], responses=ERRORS)

Token = Annotated[
    str, Query(min_length=20, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="from the mail's link")
]
FormToken = Annotated[str, Form(min_length=20, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
HTML_404: dict[int | str, dict[str, Any]] = {
    404: {
        "content": {"text/html": {"schema": {"type": "string"}}},
        "description": "the link is unknown or was used (a page)",
    }
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _button_page(title: str, action: str, fields: dict[str, str], label: str) -> HTMLResponse:
    """A page whose one button posts `fields` to `action`: a link opened by a scanner changes nothing."""
    inputs = "".join(
        f"<input type=hidden name='{html.escape(k)}' value='{html.escape(v)}'>" for k, v in fields.items()
    )
    return _page(
        title,
        f"<form method=post action='{html.escape(action)}'>{inputs}"
        f"<button type=submit>{html.escape(label)}</button></form>",
    )


@router.get(
    "/me/email", response_model=EmailPublic, responses={404: {}}, summary="Your e-mail address, if any"
)
def get_email(session: CurrentSession, conn: ConnDep) -> EmailPublic:
    found = service.status(conn, session.address)
    if found is None:
        raise HTTPException(404, "you have not added an e-mail address")
    return found


@router.put(
    "/me/email",
    response_model=EmailPublic,
    status_code=202,
    responses={429: {}, 503: {}},
    summary="Add or replace your e-mail address; a confirmation link is mailed to it",
    description="Notifications are mailed only after the link was followed. The address is personal "
    "data: it is never put on-chain or on IPFS, is in `/me/export` and goes with `DELETE /me`.",
)
def put_email(
    body: EmailIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> EmailPublic:
    if not settings.smtp_host:
        raise HTTPException(503, "e-mail is not configured on this server (SKILLCHAIN_SMTP_HOST)")
    now = int(clock())
    why = service.confirmation_wait(conn, body.email, now, settings.confirmation_mail_limit)
    if why is not None:
        raise HTTPException(429, why, headers={"Retry-After": "3600"})
    # One a minute per wallet, kept apart from the address's row (removing it resets nothing).
    wait = request.app.state.confirmation_limiter.check(session.address)
    if wait is not None:
        raise HTTPException(
            429,
            "a confirmation mail went out less than a minute ago: wait a minute",
            headers={"Retry-After": str(wait)},
        )
    token = service.set_email(conn, session.address, body.email, now)
    service.record_confirmation(conn, body.email, now)
    try:
        smtp.send(settings, service.confirmation(settings, body.email, token))
    except smtp.MailUnavailable as exc:  # rolls the address back: nothing is kept unconfirmable
        raise HTTPException(503, str(exc)) from None
    return EmailPublic(email=body.email, confirmed=False, subscribed=True)


@router.delete("/me/email", status_code=204, responses={404: {}}, summary="Remove your e-mail address")
def delete_email(session: CurrentSession, conn: ConnDep) -> Response:
    if not service.remove(conn, session.address):
        raise HTTPException(404, "you have not added an e-mail address")
    return Response(status_code=204)


@router.get(
    "/email/confirm",
    response_class=HTMLResponse,
    summary="The confirmation link's page: a button that posts the token (a link scanner confirms nothing)",
)
def confirm_page(token: Token) -> HTMLResponse:
    # A link scanner that follows the link confirms nothing: the button posts the token.
    return _button_page(
        "Confirm your e-mail address",
        "/email/confirm",
        {"token": token},
        "Confirm this address for Skillchain notifications",
    )


@router.post(
    "/email/confirm",
    response_class=HTMLResponse,
    responses=HTML_404,
    summary="Confirm an address (the mail's link)",
)
def confirm(token: FormToken, conn: ConnDep, clock: ClockDep) -> HTMLResponse:
    if service.confirm(conn, token, int(clock())) is None:
        return _page(
            "This link is unknown or was used", "<p>Add the address again in the app for a new link.</p>", 404
        )
    return _page(
        "Address confirmed",
        "<p>Skillchain will mail you what concerns you. Each mail has a one-click unsubscribe link.</p>",
    )


@router.get(
    "/email/unsubscribe",
    response_class=HTMLResponse,
    summary="The unsubscribe link's page, for a person: a button that posts the one-click request",
)
def unsubscribe_page(token: Token) -> HTMLResponse:
    return _button_page(
        "Stop Skillchain e-mails",
        f"/email/unsubscribe?token={token}",
        {"List-Unsubscribe": "One-Click"},  # what RFC 8058's one-click POST carries
        "Unsubscribe",
    )


@router.post(
    "/email/unsubscribe",
    response_class=HTMLResponse,
    responses=HTML_404,
    summary="One-click unsubscribe (RFC 8058): what a mail client posts to the List-Unsubscribe link",
)
def unsubscribe(token: Token, conn: ConnDep, clock: ClockDep) -> HTMLResponse:
    if not service.unsubscribe(conn, token, int(clock())):
        return _page("This link is unknown", "<p>The address may have been removed already.</p>", 404)
    return _page(
        "Unsubscribed", "<p>No more e-mail will be sent to this address. Notifications stay in the app.</p>"
    )
