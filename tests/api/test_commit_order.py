"""A write is committed before its answer leaves the server: a client acting on a 2xx at once (here,
signing in right after its nonce was issued) always finds what it was told exists."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import event

from api.app import create_app
from tests.api.conftest import make_settings
from tests.net import serving


def test_the_transaction_commits_before_the_response_is_sent(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_settings(tmp_path, database_url))
    commits: list[float] = []

    @event.listens_for(app.state.engine, "commit")
    def _slow_commit(_conn: object) -> None:
        time.sleep(0.3)  # a slow commit: the answer must still wait for it
        commits.append(time.monotonic())

    with serving(app) as base:
        commits.clear()
        response = httpx.get(f"{base}/auth/nonce")  # writes the nonce
        answered = time.monotonic()
    assert response.status_code == 200
    assert commits and commits[-1] <= answered, "the answer left before its transaction committed"
