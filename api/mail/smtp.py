"""Sending one message over SMTP with the standard library (smtplib: no dependency for a few
messages a minute)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from skillchain.settings import Settings


class MailUnavailable(RuntimeError):
    """E-mail is not configured, or the SMTP server refused or could not be reached."""


def send(settings: Settings, message: EmailMessage, *, timeout: float = 10.0) -> None:
    """Deliver `message` to the configured SMTP server; raises MailUnavailable in words."""
    if not settings.smtp_host:
        raise MailUnavailable("e-mail is not configured on this server (SKILLCHAIN_SMTP_HOST)")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        # The server's words, never the password or the message.
        raise MailUnavailable(
            f"the mail server {settings.smtp_host}:{settings.smtp_port} refused or was unreachable "
            f"({type(exc).__name__})"
        ) from None
