"""E-mail notifications through a real SMTP server on loopback (aiosmtpd): an address is confirmed by
its link, then the user's notifications are mailed once each — a booked session with its iCalendar
invite — and the one-click unsubscribe (RFC 8058) stops them. Bad addresses, a mail server that is
down or not configured, and a second address within the minute are refused, keeping nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from api.app import create_app
from chain.tx import anvil_account
from db.engine import make_engine
from db.notifications import notifications
from tests.api.conftest_chain import Stack
from tests.net import free_port
from tests.smtp_inbox import Inbox, link_token, smtp_server

MENTOR, LEARNER = anvil_account(3), anvil_account(4)
HOUR, DAY = 3600, 86400
EVERY_DAY = {"timezone": "UTC", "rules": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]}


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as inbox:
        yield inbox, inbox.port


@pytest.fixture
def mail_app(stack: Stack, smtp: tuple[Inbox, int]) -> Iterator[TestClient]:
    """The stack's API with e-mail on: the loopback SMTP server, no STARTTLS (a local relay)."""
    settings = stack.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "smtp_starttls": False, "mail_interval": 3600}
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_confirmed_address_gets_each_notification_once_with_the_invite_until_it_unsubscribes(
    stack: Stack, smtp: tuple[Inbox, int], mail_app: TestClient
) -> None:
    inbox, _ = smtp
    c = mail_app
    mentor, learner = stack.sign_in(MENTOR, c), stack.sign_in(LEARNER, c)
    assert c.put("/me/email", headers=learner, json={"email": "ada@example.org"}).status_code == 202
    assert c.get("/me/email", headers=learner).json() == {
        "email": "ada@example.org",
        "confirmed": False,
        "subscribed": True,
    }
    [confirmation] = inbox.to("ada@example.org")
    token = link_token(confirmation, "/email/confirm")
    page = c.get("/email/confirm", params={"token": token})
    assert page.status_code == 200 and "<form method=post" in page.text  # a link scanner confirms nothing
    assert c.get("/me/email", headers=learner).json()["confirmed"] is False
    assert c.post("/email/confirm", data={"token": token}).status_code == 200
    assert c.post("/email/confirm", data={"token": token}).status_code == 404  # once
    assert c.get("/me/email", headers=learner).json()["confirmed"] is True

    # A request booking the mentor accepts: the learner's "accepted" mail carries the session's invite.
    assert c.put("/me/availability", headers=mentor, json=EVERY_DAY).status_code == 200
    listing = c.post(
        "/listings",
        headers=mentor,
        json={
            "kind": "offer",
            "skill": "python",
            "title": "Python hour",
            "description": "pairing",
            "price": "0.01",
            "currency": "ETH",
            "session": {
                "duration_minutes": 60,
                "notice_minutes": 60,
                "horizon_days": 30,
                "booking": "request",
            },
        },
    ).json()["id"]
    start = int(time.time()) // DAY * DAY + 3 * DAY + 10 * HOUR
    made = c.post("/bookings", headers=learner, json={"listing_id": listing, "starts_at": start}).json()
    stack.send(LEARNER, made["tx"])
    stack.index()
    eid = c.get("/me/engagements", headers=mentor).json()["data"][0]["id"]
    stack.send(MENTOR, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    stack.index()
    mailer = c.app.state.mailer  # type: ignore[attr-defined]
    assert mailer.run_once() == 1  # the learner's; the mentor added no address
    [accepted] = [m for m in inbox.to("ada@example.org") if m is not confirmation]
    assert accepted["Subject"] == "Your request was accepted"
    assert f"/engagements/{eid}" in accepted.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [invite] = [p for p in accepted.iter_attachments() if p.get_content_type() == "text/calendar"]
    event = icalendar.Calendar.from_ical(invite.get_content()).walk("VEVENT")[0]
    assert int(event.decoded("dtstart").timestamp()) == start
    assert int(event.decoded("dtend").timestamp()) == start + HOUR
    assert mailer.run_once() == 0  # each notification once

    # One click in the mail client: RFC 8058's POST to the List-Unsubscribe link.
    assert accepted["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(
        r"<https?://[^/]+(/email/unsubscribe\?token=[A-Za-z0-9_-]+)>", str(accepted["List-Unsubscribe"])
    )
    assert link, accepted["List-Unsubscribe"]
    done = c.post(
        link.group(1),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Unsubscribed" in done.text
    assert c.get("/me/email", headers=learner).json()["subscribed"] is False
    engine = make_engine(stack.settings.effective_database_url)
    with engine.begin() as conn:  # a later notification, as the indexer writes them
        conn.execute(
            insert(notifications).values(
                address=LEARNER.address, kind="review_received", payload="{}", created_at=int(time.time())
            )
        )
    engine.dispose()
    assert mailer.run_once() == 0

    exported = c.get("/me/export", headers=learner).json()["tables"]
    assert exported["email"][0]["email"] == "ada@example.org" and "confirm_hash" not in exported["email"][0]
    assert len(exported["mails_sent"]) == 1
    assert c.delete("/me/email", headers=learner).status_code == 204
    assert c.get("/me/email", headers=learner).status_code == 404


def test_bad_addresses_and_unavailable_mail_are_refused_and_keep_nothing(
    stack: Stack, smtp: tuple[Inbox, int], mail_app: TestClient
) -> None:
    inbox, _ = smtp
    who = anvil_account(5)
    headers = stack.sign_in(who, mail_app)
    for bad in ["not-an-address", "a@b", "two@@example.org", "x" * 250 + "@example.org"]:
        refused = mail_app.put("/me/email", headers=headers, json={"email": bad})
        assert refused.status_code == 422, (bad, refused.text)
    down = stack.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_starttls": False}
    )
    off = stack.settings.model_copy(update={"smtp_host": None})
    for settings, words in [(down, "refused or was unreachable"), (off, "not configured")]:
        with TestClient(create_app(settings)) as other:
            mine = stack.sign_in(who, other)
            refused = other.put("/me/email", headers=mine, json={"email": "grace@example.org"})
            assert refused.status_code == 503 and words in refused.text, refused.text
            assert other.get("/me/email", headers=mine).status_code == 404  # rolled back
    before = len(inbox.mails)
    assert mail_app.put("/me/email", headers=headers, json={"email": "grace@example.org"}).status_code == 202
    again = mail_app.put("/me/email", headers=headers, json={"email": "hopper@example.org"})
    assert again.status_code == 429 and again.headers["Retry-After"] == "60"
    assert len(inbox.mails) == before + 1
    assert mail_app.get("/me/email", headers=headers).json()["email"] == "grace@example.org"
    assert mail_app.post("/email/unsubscribe", params={"token": "x" * 30}).status_code == 404
