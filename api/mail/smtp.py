"""Sending one message over SMTP with the standard library (smtplib: no dependency for a few
messages a minute)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from skillchain.settings import Settings


class MailUnavailable(RuntimeError):
    """E-mail is not configured, or the SMTP server refused or could not be reached.

    `handed_over` says whether the server may have the message: False when it failed before the
    message was sent or the server answered with a temporary (4xx) refusal — sending it again later
    cannot make a second copy; True when the connection broke while the message was on its way, or
    the server refused it for good (5xx)."""

    def __init__(self, words: str, *, handed_over: bool = False) -> None:
        super().__init__(words)
        self.handed_over = handed_over


def send(settings: Settings, message: EmailMessage, *, timeout: float = 10.0) -> None:
    """Deliver `message` to the configured SMTP server; raises MailUnavailable in words."""
    if not settings.smtp_host:
        raise MailUnavailable("e-mail is not configured on this server (SKILLCHAIN_SMTP_HOST)")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailUnavailable(f"the mail server {where} was unreachable ({type(exc).__name__})") from None
    with smtp:
        try:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        except (OSError, smtplib.SMTPException) as exc:
            # The server's words, never the password or the message.
            raise MailUnavailable(
                f"the mail server {where} refused the connection ({type(exc).__name__})"
            ) from None
        try:
            smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise MailUnavailable(
                f"the mail server {where} refused the message ({exc.smtp_code})",
                handed_over=not 400 <= exc.smtp_code < 500,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailUnavailable(
                f"the mail server {where} refused the recipient ({', '.join(map(str, codes))})",
                handed_over=not all(400 <= c < 500 for c in codes),
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailUnavailable(
                f"the mail server {where} broke off while the message was sent ({type(exc).__name__})",
                handed_over=True,
            ) from None
