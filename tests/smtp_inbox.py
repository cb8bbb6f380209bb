"""A real SMTP server on loopback (aiosmtpd) and what it received, parsed: for the e-mail tests."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.net import free_port


class Inbox:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if address in str(m["To"])]


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def link_token(mail: EmailMessage, path: str) -> str:
    """The token of the first `path?token=…` link in the mail's text."""
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(rf"{path}\?token=([A-Za-z0-9_-]+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)
