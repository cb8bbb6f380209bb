"""Loopback helpers for tests: a free port, and an ASGI app served by uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(app: Any, port: int | None = None) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Start `app` on 127.0.0.1 (a free port unless given); returns its URL, the server and its thread."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", proxy_headers=False)
    server = uvicorn.Server(config)  # as `skillchain serve` runs it: the app decides on X-Forwarded-For
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    # A port another process took between free_port() and the bind would send this test's requests
    # to someone else's server: fail here, in words, instead.
    assert server.started, f"the test server did not start on 127.0.0.1:{port} (port taken?)"
    return f"http://127.0.0.1:{port}", server, thread


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve `app` for the duration of the block; yields its URL."""
    url, server, thread = serve_in_thread(app, port)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=5)
