"""E-mail notifications through a real SMTP server on loopback (aiosmtpd): an address is confirmed by
its link, then the user's notifications are mailed once each — a booked session with its iCalendar
invite — and the one-click unsubscribe (RFC 8058) stops them. Bad addresses, a mail server that is
down or not configured, and a second address within the minute are refused, keeping nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import icalendar
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from api.app import create_app
from api.mail import service
from api.mail.worker import Mailer
from chain.tx import anvil_account
from db.engine import make_engine
from db.mail import mail_sent
from db.notifications import notifications
from tests.api.booking_flow import DAY, HOUR, accepted_request, next_hour
from tests.api.conftest_chain import Stack
from tests.net import free_port
from tests.smtp_inbox import Inbox, link_token, smtp_server

MENTOR, LEARNER = anvil_account(3), anvil_account(4)


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
    learner = stack.sign_in(LEARNER, c)
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
    start = next_hour(days=3)
    eid = accepted_request(stack, c, MENTOR, LEARNER, start).engagement
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
    for settings, words in [(down, "was unreachable"), (off, "not configured")]:
        with TestClient(create_app(settings)) as other:
            mine = stack.sign_in(who, other)
            refused = other.put("/me/email", headers=mine, json={"email": "grace@example.org"})
            assert refused.status_code == 503 and words in refused.text, refused.text
            assert other.get("/me/email", headers=mine).status_code == 404  # rolled back
    before = len(inbox.mails)
    assert mail_app.put("/me/email", headers=headers, json={"email": "grace@example.org"}).status_code == 202
    again = mail_app.put("/me/email", headers=headers, json={"email": "hopper@example.org"})
    assert again.status_code == 429 and 1 <= int(again.headers["Retry-After"]) <= 60
    assert len(inbox.mails) == before + 1
    assert mail_app.get("/me/email", headers=headers).json()["email"] == "grace@example.org"
    assert mail_app.post("/email/unsubscribe", params={"token": "x" * 30}).status_code == 404


def _confirmed(stack: Stack, c: TestClient, inbox: Inbox, who: LocalAccount, email: str) -> dict[str, str]:
    """`who` signed in with `email` added and confirmed by its link."""
    headers = stack.sign_in(who, c)
    assert c.put("/me/email", headers=headers, json={"email": email}).status_code == 202
    token = link_token(inbox.to(email)[-1], "/email/confirm")
    assert c.post("/email/confirm", data={"token": token}).status_code == 200
    return headers


def _notify(stack: Stack, address: str, kind: str = "review_received") -> int:
    engine = make_engine(stack.settings.effective_database_url)
    with engine.begin() as conn:
        nid = conn.execute(
            insert(notifications)
            .values(address=address, kind=kind, payload="{}", created_at=int(time.time()))
            .returning(notifications.c.id)
        ).scalar_one()
    engine.dispose()
    return int(nid)


def test_confirmation_mails_are_limited_per_wallet_per_address_and_in_all(
    stack: Stack, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = stack.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "confirmation_mail_limit": 5,
        }
    )
    with TestClient(create_app(settings)) as c:
        now = [time.time() + 30 * DAY]  # an hour of its own: no other test's confirmation mails in it
        c.app.state.clock = lambda: now[0]  # type: ignore[attr-defined]
        # Per wallet, kept apart from the address's row: removing the address and adding another
        # within the minute sends nothing.
        one = stack.sign_in(Account.create(), c)
        assert c.put("/me/email", headers=one, json={"email": "first@example.org"}).status_code == 202
        assert c.delete("/me/email", headers=one).status_code == 204
        again = c.put("/me/email", headers=one, json={"email": "second@example.org"})
        assert again.status_code == 429 and 1 <= int(again.headers["Retry-After"]) <= 60, again.text
        assert inbox.to("second@example.org") == []
        # Per recipient, whichever wallets ask: three a day.
        for n in range(3):
            fresh = stack.sign_in(Account.create(), c)
            assert (
                c.put("/me/email", headers=fresh, json={"email": "victim@example.org"}).status_code == 202
            ), n
        fourth = c.put(
            "/me/email", headers=stack.sign_in(Account.create(), c), json={"email": "Victim@Example.org"}
        )
        assert fourth.status_code == 429 and "today" in fourth.json()["detail"], fourth.text
        assert len(inbox.to("victim@example.org")) == 3
        # In all: five an hour here (SKILLCHAIN_CONFIRMATION_MAIL_LIMIT); four went out this hour.
        assert (
            c.put(
                "/me/email", headers=stack.sign_in(Account.create(), c), json={"email": "e5@example.org"}
            ).status_code
            == 202
        )
        sixth = c.put(
            "/me/email", headers=stack.sign_in(Account.create(), c), json={"email": "e6@example.org"}
        )
        assert sixth.status_code == 429 and "within the hour" in sixth.json()["detail"], sixth.text
        now[0] += 3601  # the next hour
        assert (
            c.put(
                "/me/email", headers=stack.sign_in(Account.create(), c), json={"email": "e6@example.org"}
            ).status_code
            == 202
        )
        now[0] += 86400  # the next day: the victim's address may be asked for again
        assert (
            c.put(
                "/me/email", headers=stack.sign_in(Account.create(), c), json={"email": "victim@example.org"}
            ).status_code
            == 202
        )


def test_a_confirmation_link_expires_after_two_days(
    stack: Stack, smtp: tuple[Inbox, int], mail_app: TestClient
) -> None:
    inbox, _ = smtp
    c = mail_app
    now = [time.time()]
    c.app.state.clock = lambda: now[0]  # type: ignore[attr-defined]
    headers = stack.sign_in(Account.create(), c)
    assert c.put("/me/email", headers=headers, json={"email": "late@example.org"}).status_code == 202
    token = link_token(inbox.to("late@example.org")[-1], "/email/confirm")
    now[0] += 2 * DAY + 1
    assert c.post("/email/confirm", data={"token": token}).status_code == 404
    assert c.get("/me/email", headers=headers).json()["confirmed"] is False


def test_the_mailer_sends_to_the_address_as_it_is_when_it_sends(
    stack: Stack, smtp: tuple[Inbox, int], mail_app: TestClient
) -> None:
    """`due` read the address; before the mail goes out it is unsubscribed, or replaced: no mail to
    the old one (the claim reads it again)."""
    inbox, _ = smtp
    c = mail_app
    mailer = c.app.state.mailer  # type: ignore[attr-defined]
    who = Account.create()
    headers = _confirmed(stack, c, inbox, who, "old@example.org")
    _notify(stack, who.address)
    with mailer.engine.connect() as conn:
        [item] = [d for d in service.due(conn) if d.address == who.address]
    # Replaced by another (unconfirmed) address between the read and the send: nothing is mailed.
    with mailer.engine.begin() as conn:
        service.set_email(conn, who.address, "new@example.org", int(time.time()))
        assert service.claim(conn, item, int(time.time())) is None
    assert mailer.run_once() == 0
    assert [m["Subject"] for m in inbox.to("old@example.org")] == [
        "Confirm your e-mail address for Skillchain"
    ]
    assert inbox.to("new@example.org") == []
    assert c.delete("/me/email", headers=headers).status_code == 204


def test_an_unreachable_mail_server_leaves_the_mail_for_the_next_pass_and_one_bad_item_does_not_stop_the_rest(
    stack: Stack, smtp: tuple[Inbox, int], mail_app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, _ = smtp
    c = mail_app
    mailer = c.app.state.mailer  # type: ignore[attr-defined]
    who = Account.create()
    _confirmed(stack, c, inbox, who, "patient@example.org")
    first, second = _notify(stack, who.address), _notify(stack, who.address, "credential_issued")
    down = Mailer(
        mailer.engine,
        mailer.settings.model_copy(update={"smtp_port": free_port()}),
        clock=time.time,
    )
    assert down.run_once() == 0  # unreachable: un-claimed, nothing recorded as failed
    assert mailer.run_once() == 2  # the next pass, with the server back
    assert [m["Subject"] for m in inbox.to("patient@example.org")][1:] == [
        "You received a review",
        "You received a credential",
    ]
    assert mailer.run_once() == 0

    # One notification whose mail cannot be made is recorded as failed; the next still goes out.
    bad, good = _notify(stack, who.address), _notify(stack, who.address, "dispute_raised")
    real = service.notification

    def breaks_on_bad(settings: Any, conn: Any, item: service.Due, now: int) -> Any:
        if item.notification_id == bad:
            raise ValueError("a notification this mailer cannot word")
        return real(settings, conn, item, now)

    monkeypatch.setattr(service, "notification", breaks_on_bad)
    assert mailer.run_once() == 1
    assert inbox.to("patient@example.org")[-1]["Subject"] == "A dispute was raised"
    with mailer.engine.connect() as conn:
        states = dict(
            conn.execute(
                select(mail_sent.c.notification_id, mail_sent.c.status).where(
                    mail_sent.c.notification_id.in_([first, second, bad, good])
                )
            ).all()
        )
    assert states == {first: "sent", second: "sent", bad: "failed", good: "sent"}
    assert mailer.run_once() == 0  # the failed one is not retried forever
