"""A live-stream listener for tests: a real HTTP client on a real socket, parsing server-sent events
in a thread (httpx), so tests wait for what arrives instead of sleeping."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Received:
    id: int | None
    event: str
    data: dict[str, Any]


@dataclass
class Listener:
    base: str
    headers: dict[str, str]
    last_event_id: int | None = None
    items: list[Received] = field(default_factory=list)
    status: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _client: httpx.Client = field(init=False)
    _response: httpx.Response | None = None

    def start(self) -> Listener:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.wait(lambda: self.status is not None, "the stream to open")
        return self

    def _run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def _read(self) -> None:
        headers = dict(self.headers)
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))
        with (
            self._client as client,
            client.stream("GET", f"{self.base}/events/stream", headers=headers) as response,
        ):
            self._response = response
            with self._changed:
                self.status = response.status_code
                self._changed.notify_all()
            if response.status_code != 200:
                return
            event, data, ident = "message", "", None
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line == "":
                    if data:
                        with self._changed:
                            self.items.append(Received(ident, event, json.loads(data)))
                            self._changed.notify_all()
                    event, data, ident = "message", "", None
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif line.startswith("id:"):
                    ident = int(line[3:].strip())

    def wait(self, condition: Any, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; received {self.names()}")
                self._changed.wait(min(left, 0.2))

    def wait_for(self, name: str, *, engagement: int | None = None, count: int = 1) -> list[Received]:
        def matching() -> list[Received]:
            return [
                r
                for r in self.items
                if r.data.get("name") == name
                and (engagement is None or r.data.get("engagement_id") == engagement)
            ]

        self.wait(lambda: len(matching()) >= count, f"{name} (engagement {engagement})")
        return matching()

    def names(self) -> list[str]:
        return [str(r.data.get("name", r.event)) for r in self.items]

    def ids(self) -> list[int]:
        return [r.id for r in self.items if r.id is not None]

    def close(self) -> None:
        """Drop the connection (the server sees the client go)."""
        self._stop.set()
        stream = self._response.extensions.get("network_stream") if self._response else None
        if stream is not None:  # shut the socket under the reading thread: the server sees EOF at once
            import socket

            sock = stream.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)
