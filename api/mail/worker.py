"""The mailer: every SKILLCHAIN_MAIL_INTERVAL seconds, mail the notifications of confirmed addresses.

Each mail is recorded as `sending` (committed) before it goes out and `sent` or `failed` after: a
crash in between sends it at most once, and API replicas that all run a mailer never both send it
(the notification id is the record's key). A mail the server never took (unreachable, or a
temporary 4xx refusal) waits for the next pass; one it refused for good, or that broke off on its
way, is not retried (it may have arrived): the notification stays in the app, where the user sees
it anyway."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from email.message import EmailMessage

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from api.mail import service, smtp
from skillchain.settings import Settings

log = logging.getLogger("skillchain.mail")


class Mailer:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        clock: Callable[[], float],
        send: Callable[[Settings, EmailMessage], None] = smtp.send,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.send = send
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Mail what is due now; how many mails went out. One notification that cannot be mailed is
        recorded as failed and the pass goes on; a mail server that cannot be reached ends the pass
        with the mail un-claimed, for the next pass."""
        sent = 0
        with self.engine.connect() as conn:
            due = service.due(conn)
        for item in due:
            now = int(self.clock())
            try:
                with self.engine.begin() as conn:
                    claimed = service.claim(conn, item, now)
                    if claimed is None:
                        continue
                    message = service.notification(self.settings, conn, claimed, now)
            except IntegrityError:  # another replica claimed it at the same moment
                continue
            except Exception as exc:  # this one notification: the others still go out
                log.exception("notification %s could not be made into a mail", item.notification_id)
                with self.engine.begin() as conn:
                    service.give_up(conn, item, now, f"{type(exc).__name__}: {exc}")
                continue
            try:
                self.send(self.settings, message)
            except smtp.MailUnavailable as exc:
                if not exc.handed_over:  # the server never took it: sending it later makes no copy
                    log.warning(
                        "mail server unavailable, %s waits for the next pass: %s", item.notification_id, exc
                    )
                    with self.engine.begin() as conn:
                        service.release(conn, item.notification_id)
                    break
                log.warning("notification %s not mailed: %s", item.notification_id, exc)
                with self.engine.begin() as conn:
                    service.settle(conn, item.notification_id, str(exc))
                continue
            sent += 1
            with self.engine.begin() as conn:
                service.settle(conn, item.notification_id, None)
        return sent

    def start(self) -> None:
        if self._thread is not None or not self.settings.smtp_host:
            return

        def loop() -> None:
            while not self._stop.wait(self.settings.mail_interval):
                try:
                    self.run_once()
                except Exception:
                    log.exception("mailer pass failed; next pass in %s s", self.settings.mail_interval)

        self._thread = threading.Thread(target=loop, name="mailer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
