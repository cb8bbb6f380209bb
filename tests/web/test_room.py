"""The session room in Chromium, with real WebRTC between two browser contexts (fake camera and
microphone): the learner and the mentor each open the room of their confirmed session from a
different API process (`skillchain serve`) sharing one PostgreSQL database, reach `iceConnectionState == "connected"`, see each other's video playing, chat both
ways; a third wallet is refused; hanging up ends both sides. And messages: an inquiry from a listing
reaches the mentor live, who answers; the learner sees the reply and the "Seen" receipt."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy import Engine

from chain.toolchain import VENV_BIN
from chain.tx import anvil_account
from db.engine import make_engine
from db.migrate import upgrade
from tests.api import rows
from tests.api.conftest import pg_database
from tests.api.conftest_chain import Stack
from tests.net import free_port
from tests.web.test_dapp import CHROMIUM, FLAGS, SHOTS, Person, person

LEARNER, MENTOR, STRANGER = anvil_account(1), anvil_account(2), anvil_account(3)
KEYS = "k1:" + base64.b64encode(b"r" * 32).decode()
BOOKING = "0x" + "ab" * 32
MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@dataclass
class Replicas:
    a: str
    b: str
    engine: Engine
    a_client: httpx.Client


def _serve(stack: Stack, url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SKILLCHAIN_DATA_DIR": str(stack.settings.data_dir),
        "SKILLCHAIN_DEPLOYMENTS_DIR": str(stack.settings.deployments_dir),
        "SKILLCHAIN_DATABASE_URL": url,
        "SKILLCHAIN_ANVIL_PORT": str(stack.settings.anvil_port),
        "SKILLCHAIN_MESSAGE_KEYS": KEYS,
        "SKILLCHAIN_SIWE_DOMAIN": stack.settings.effective_siwe_domain,
        "SKILLCHAIN_AUTH_RATE_LIMIT": "0",
        "SKILLCHAIN_LOG_FORMAT": "json",
    }
    return subprocess.Popen(
        [str(VENV_BIN / "skillchain"), "serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"the API process exited:\n{log.read_text()}"
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                # Someone answers on the port: ours only if it is still alive a moment later (a
                # process that lost the port to another server exits when its bind fails).
                time.sleep(1.0)
                assert proc.poll() is None, f"the port was taken by another server:\n{log.read_text()}"
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"the API process never answered:\n{log.read_text()}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def replicas(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Two API processes (`skillchain serve`, each its own stream hub and LISTEN connection) on one
    fresh PostgreSQL database, both serving the dApp."""
    logs = tmp_path_factory.mktemp("replicas")
    with pg_database() as url:
        engine = make_engine(url)
        upgrade(engine)  # once, before two processes would race to migrate
        ports = [free_port(), free_port()]
        procs = [_serve(stack, url, port, logs / f"api-{i}.log") for i, port in enumerate(ports)]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            for base, proc, i in zip(bases, procs, range(2), strict=True):
                _ready(base, proc, logs / f"api-{i}.log")
            with httpx.Client(base_url=bases[0], timeout=30) as a_client:
                yield Replicas(bases[0], bases[1], engine, a_client)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            engine.dispose()


@pytest.fixture(scope="module")
def media_browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS + MEDIA, headless=True)
        yield b
        b.close()


def _confirmed_session(engine: Engine) -> None:
    """A session starting in five minutes (its room is open), booked and funded (read model)."""
    start = int(time.time()) + 300
    with engine.begin() as conn:
        rows.booking(conn, id=BOOKING, learner=LEARNER.address, mentor=MENTOR.address, starts_at=start)
        rows.engagement(
            conn,
            id=90_001,
            client=LEARNER.address,
            provider=MENTOR.address,
            arbiter=anvil_account(9).address,
            total_amount=10**15,
            accepted=True,
            booking_ref=BOOKING,
            starts_at=start,
        )


def _signed_in(
    browser: Browser, base: str, stack: Stack, api: httpx.Client, name: str, account: Any
) -> Person:
    """A person whose tab already holds a session of this database (signed in through the API: the
    dApp's own sign-in is tested in test_dapp.py), with the wallet that session belongs to."""
    token = stack.sign_in(account, cast(TestClient, api))["Authorization"].removeprefix("Bearer ")
    who = person(browser, base, stack, name, account)
    who.context.grant_permissions(["camera", "microphone"], origin=base)
    session = {"token": token, "address": account.address, "expiresAt": int(time.time()) + 3600}
    who.context.add_init_script(f"sessionStorage.setItem('sc-session', {json.dumps(json.dumps(session))});")
    return who


def _connect(p: Person) -> None:
    connect = p.page.get_by_role("button", name="Connect wallet")
    expect(connect.or_(p.page.get_by_role("button", name="Sign out"))).to_be_visible()
    if connect.is_visible():
        connect.click()
    expect(p.page.get_by_role("button", name="Sign out")).to_be_visible()


PLAYING = """(video) => new Promise((resolve) => {
  const first = video.currentTime;
  setTimeout(() => resolve({ width: video.videoWidth, advanced: video.currentTime > first }), 1000);
})"""


def test_two_browsers_on_two_replicas_talk_face_to_face_and_hang_up(
    stack: Stack, replicas: Replicas, media_browser: Browser
) -> None:
    _confirmed_session(replicas.engine)
    api = replicas.a_client
    learner = _signed_in(media_browser, replicas.a, stack, api, "learner", LEARNER)
    mentor = _signed_in(media_browser, replicas.b, stack, api, "mentor", MENTOR)
    stranger = _signed_in(media_browser, replicas.a, stack, api, "stranger", STRANGER)
    # The learner's room socket passes through the test, which can drop it like a failing network.
    sockets: list[Any] = []

    def through(route: Any) -> None:
        route.connect_to_server()
        sockets.append(route)

    learner.context.route_web_socket(re.compile(r"/rooms/[^/]+/ws$"), through)
    try:
        for p in (learner, mentor):
            p.go(f"/room/{BOOKING}")
            _connect(p)
        # The learner checks the devices first: a preview of themselves, and a camera to choose.
        learner.page.get_by_role("button", name="Check camera and microphone").click()
        preview = learner.page.get_by_label("Your camera, before joining")
        expect(preview).to_be_visible()
        camera = learner.page.get_by_role("combobox", name=re.compile("^Camera"))
        expect(camera).to_be_visible()
        assert camera.get_by_role("option").count() >= 2  # the browser's default and the fake device
        camera.select_option(index=1)
        expect(preview).to_be_visible()
        for p in (learner, mentor):
            p.page.get_by_role("button", name="Join the session").click()
        for p in (learner, mentor):
            expect(p.page.locator("[data-ice=connected], [data-ice=completed]")).to_be_visible(timeout=30_000)
            remote = p.page.get_by_label("The other party")
            expect(remote).to_be_visible()
            playing = remote.evaluate(PLAYING)
            assert playing["width"] > 0 and playing["advanced"], (p.name, playing)
        learner.shot("room-call")

        learner.page.get_by_label("Message in the room").fill("Hello from replica A")
        learner.page.get_by_role("button", name="Send", exact=True).click()
        expect(mentor.page.get_by_text("Hello from replica A")).to_be_visible()
        mentor.page.get_by_label("Message in the room").fill("Hello back from B")
        mentor.page.get_by_role("button", name="Send", exact=True).click()
        expect(learner.page.get_by_text("Hello back from B")).to_be_visible()

        # The learner's connection drops (1011 from the network's side): the room reconnects by itself,
        # keeping the camera, and the two see each other again.
        sockets[-1].close(code=1011, reason="network trouble")
        expect(learner.page.get_by_text("The connection dropped: reconnecting")).to_be_visible()
        expect(learner.page.locator("[data-ice=connected], [data-ice=completed]")).to_be_visible(
            timeout=30_000
        )
        assert len(sockets) == 2  # a second connection, made by the page on its own
        playing = learner.page.get_by_label("The other party").evaluate(PLAYING)
        assert playing["width"] > 0 and playing["advanced"], playing

        stranger.go(f"/room/{BOOKING}")
        _connect(stranger)
        expect(stranger.page.get_by_role("alert")).to_contain_text("only the session's learner and mentor")

        mentor.page.get_by_role("button", name="Hang up").click()
        for p in (learner, mentor):
            expect(p.page.get_by_text("The call has ended.")).to_be_visible()
        # The session is over for them: the mentor is offered to submit it as delivered, the learner not.
        expect(mentor.page.get_by_role("button", name="Session delivered")).to_be_visible()
        expect(learner.page.get_by_role("button", name="Session delivered")).to_be_hidden()
        attendance = learner.page.get_by_role("region", name="Who joined")
        expect(attendance).to_contain_text("left")
        mentor.shot("room-ended")
    finally:
        for p in (learner, mentor, stranger):
            p.context.close()


def test_an_inquiry_reaches_the_mentor_live_and_the_reply_comes_back_seen(
    stack: Stack, replicas: Replicas, media_browser: Browser
) -> None:
    api = replicas.a_client
    owner = stack.sign_in(MENTOR, cast(TestClient, api))
    listing = api.post(
        "/listings",
        headers=owner,
        json={
            "kind": "offer",
            "skill": "python",
            "title": "Python, from scripts to packages",
            "description": "Pair programming",
            "price": "30",
            "languages": ["en"],
        },
    )
    assert listing.status_code == 201, listing.text
    learner = _signed_in(media_browser, replicas.a, stack, api, "learner", LEARNER)
    mentor = _signed_in(media_browser, replicas.b, stack, api, "mentor", MENTOR)
    try:
        mentor.go("/messages")
        _connect(mentor)
        learner.go(f"/book/{listing.json()['id']}")
        _connect(learner)
        learner.page.get_by_role("button", name="Message the mentor first").click()
        learner.page.get_by_label("Your question to the mentor").fill(
            "Do you cover packaging with uv? https://example.org"
        )
        learner.page.get_by_role("button", name="Send the question").click()
        expect(
            learner.page.get_by_role("heading", name="About “Python, from scripts to packages”")
        ).to_be_visible()

        # The mentor's list updates live (their stream, on the other replica): unread badge, then the thread.
        expect(mentor.page.get_by_role("link", name="Messages 1 unread")).to_be_visible()
        mentor.page.get_by_role("link", name="About “Python, from scripts to packages”").click()
        expect(mentor.page.get_by_text("Do you cover packaging with uv? https://example.org")).to_be_visible()
        assert mentor.page.get_by_role("link", name="https://example.org").count() == 0  # a link stays text
        mentor.page.get_by_label("Your message").fill("Yes — bring a project.")
        mentor.page.get_by_role("button", name="Send", exact=True).click()

        expect(learner.page.get_by_text("Yes — bring a project.")).to_be_visible()
        expect(mentor.page.get_by_text("Seen")).to_be_visible()  # the learner's read receipt, live
        learner.shot("messages-thread")
    finally:
        for p in (learner, mentor):
            p.context.close()
