"""A pass the API process runs every `interval` seconds in a daemon thread (reminders, the free-time
index): one loop, a failed pass logged and retried at the next interval, stopped with the app."""

from __future__ import annotations

import logging
import threading


class PeriodicPass:
    """Subclasses set `name` and `interval` and implement `run_once`."""

    name = "pass"
    interval: float = 60.0
    log = logging.getLogger("skillchain.periodic")

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.run_once()
                except Exception:
                    self.log.exception("%s pass failed; next pass in %s s", self.name, self.interval)

        self._thread = threading.Thread(target=loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
