"""The dApp in a real browser (Debian's Chromium driven by Playwright) with an injected EIP-1193
wallet that signs with anvil's dev keys: sign in, book and fund an engagement, submit and approve a
milestone, review, issue a credential, and verify it as an employer on the public page.
Screenshots of every step go to test-output/web/."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from api.app import create_app
from chain.toolchain import PROJECT_ROOT
from chain.tx import Sender, anvil_account
from db.engine import make_engine
from indexer.rpc import RpcClient
from indexer.runner import Indexer, IndexerConfig
from tests.api.conftest_chain import Stack
from tests.net import free_port, serve_in_thread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = PROJECT_ROOT / "test-output" / "web"
LEARNER, MENTOR = anvil_account(1), anvil_account(2)  # the mentor is an accredited issuer in the stack
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

served_errors: list[list[Exception]] = []

WALLET = """
(() => {
  const accounts = %s;
  let current = Number(sessionStorage.getItem("__testWalletAccount") || 0);  // a wallet remembers across reloads
  const listeners = {};
  const provider = {
    isSkillchainTestWallet: true,
    async request({ method, params }) {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [accounts[current]];
      const answer = JSON.parse(await window.__walletRequest(JSON.stringify({ method, params: params || [], account: current })));
      if (answer.error) throw new Error(answer.error);
      return answer.result;
    },
    on(event, fn) { (listeners[event] ||= []).push(fn); },
    removeListener() {},
  };
  window.__useAccount = (i) => { current = i; sessionStorage.setItem("__testWalletAccount", String(i)); (listeners.accountsChanged || []).forEach((fn) => fn([accounts[i]])); };
  window.ethereum = provider;
  window.addEventListener("eip6963:requestProvider", () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider",
    { detail: { info: { uuid: "skillchain-test", name: "Test wallet", icon: "data:,", rdns: "test.skillchain" }, provider } })));
})();
"""


@pytest.fixture(scope="module")
def served(stack: Stack) -> Iterator[tuple[str, Stack]]:
    served_errors.clear()
    port = free_port()
    settings = stack.settings.model_copy(update={"api_port": port, "siwe_domain": f"127.0.0.1:{port}"})
    base, server, thread = serve_in_thread(create_app(settings), port=port)
    stop = threading.Event()
    engine = make_engine(settings.effective_database_url)
    indexer = Indexer(
        engine,
        RpcClient(stack.chain.url),
        IndexerConfig.from_record(stack.record, finality_depth=64, poll_interval=0.1),
    )
    errors: list[Exception] = []

    def follow() -> None:
        try:
            indexer.run(stop=stop)
        except Exception as exc:  # noqa: BLE001 - surfaced by the test below
            errors.append(exc)

    indexing = threading.Thread(target=follow, daemon=True)
    served_errors.append(errors)
    indexing.start()
    try:
        yield base, stack
    finally:
        stop.set()
        server.should_exit = True
        indexing.join(timeout=10)
        thread.join(timeout=10)


def wallet_handler(stack: Stack) -> Any:
    keys = [LEARNER, MENTOR]
    senders = {a.address: Sender(stack.w3, a) for a in keys}

    def handle(raw: str) -> str:
        req = json.loads(raw)
        account = keys[req["account"]]
        method, params = req["method"], req["params"]
        try:
            if method == "eth_chainId":
                result: Any = hex(stack.w3.eth.chain_id)
            elif method == "personal_sign":
                message = params[0]
                signable = (
                    encode_defunct(hexstr=message)
                    if message.startswith("0x")
                    else encode_defunct(text=message)
                )
                result = "0x" + Account.sign_message(signable, account.key).signature.hex().removeprefix("0x")
            elif method == "eth_signTypedData_v4":
                signable = encode_typed_data(full_message=json.loads(params[1]))
                result = "0x" + Account.sign_message(signable, account.key).signature.hex().removeprefix("0x")
            elif method == "eth_sendTransaction":
                tx = params[0]
                receipt = senders[account.address].send(
                    {"to": tx["to"], "data": tx["data"], "value": int(tx.get("value", "0x0"), 16)}
                )  # type: ignore[typeddict-item]
                result = "0x" + bytes(receipt["transactionHash"]).hex().removeprefix("0x")
            else:
                return json.dumps({"error": f"unsupported method {method}"})
            return json.dumps({"result": result})
        except Exception as exc:  # noqa: BLE001 - the page shows wallet errors to the user
            return json.dumps({"error": str(exc)})

    return handle


def test_whole_flow_in_a_real_browser(served: tuple[str, Stack]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, stack = served
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The mentor's offer exists before the learner arrives.
    mentor_session = {"Authorization": "Bearer " + _sign_in_token(base, MENTOR)}
    httpx.post(
        f"{base}/listings",
        headers=mentor_session,
        json={
            "kind": "offer",
            "skill": "solidity",
            "title": "Solidity mentoring",
            "description": "hands-on",
            "price": "40",
        },
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 420, "height": 900})  # readable on a phone
        page.expose_function("__walletRequest", wallet_handler(stack))
        page.add_init_script(WALLET % json.dumps([LEARNER.address, MENTOR.address]))
        step = iter(range(100))

        def shot(name: str) -> None:
            page.screenshot(path=str(SHOTS / f"{next(step):02d}-{name}.png"), full_page=True)

        page.goto(base + "/")
        expect(page.get_by_role("heading", name="Find a mentor")).to_be_visible()
        page.locator("#connect").click()  # "Connect wallet", or "Sign in" once the wallet is known
        _signed_in_as(page, LEARNER.address)
        shot("signed-in")

        page.get_by_role("link", name="Book this mentor").first.click()
        page.get_by_role("button", name="Fund with my wallet").click()
        expect(page.get_by_role("heading", name="My engagements")).to_be_visible()
        engagement = page.locator("main a[href^='#/engagement/']")
        _eventually(page, lambda: engagement.count() > 0, base + "/#/engagements")
        shot("engagement-funded")
        engagement.first.click()
        expect(page.get_by_text("requested")).to_be_visible()
        url = page.url

        # The mentor (an issuer too) signs in with the second wallet account and delivers.
        page.evaluate("window.__useAccount(1)")
        page.get_by_role("button", name="Sign in").click()
        _signed_in_as(page, MENTOR.address)
        # A request counts only once the mentor accepts it.
        _eventually(page, lambda: page.get_by_role("button", name="Accept request").count() > 0, url)
        _click_until_sent(page, "Accept request")
        _eventually(page, lambda: page.get_by_role("button", name="Submit milestone 0").count() > 0, url)
        _click_until_sent(page, "Submit milestone 0")
        _eventually(page, lambda: page.get_by_text("submitted").count() > 0, url)
        shot("milestone-submitted")

        page.evaluate("window.__useAccount(0)")
        page.get_by_role("button", name="Sign in").click()
        _signed_in_as(page, LEARNER.address)
        _eventually(page, lambda: page.get_by_role("button", name="Approve milestone 0").count() > 0, url)
        _click_until_sent(page, "Approve milestone 0")
        _eventually(page, lambda: page.get_by_role("button", name="Post review").count() > 0, url)
        page.get_by_label("Comment").fill("Clear and patient")
        page.get_by_role("button", name="Post review").click()
        expect(page.locator("#status")).to_contain_text("Review sent")
        shot("reviewed")

        page.evaluate("window.__useAccount(1)")
        page.get_by_role("button", name="Sign in").click()
        _signed_in_as(page, MENTOR.address)
        for attempt in range(3):  # a live update can re-render under the pointer: start the form again
            page.goto(base + "/#/issuer")
            expect(page.get_by_role("heading", name="Issue a credential")).to_be_visible()
            try:
                page.get_by_label("Holder address").fill(LEARNER.address, timeout=5000)
                page.get_by_role("button", name="Issue on-chain").click(timeout=5000)
                break
            except Exception:
                if attempt == 2:
                    raise
        share = page.locator("#share")
        expect(share).to_be_visible()
        shot("credential-issued")
        link = share.get_attribute("href")
        assert link and link.startswith("#/verify/")

        # An employer: a fresh page, no wallet needed, opens the shared link.
        employer = browser.new_page()
        token = link.rsplit("/", 1)[-1]
        _eventually(employer, lambda: employer.locator(f"#verdict-{token}").count() > 0, base + "/" + link)
        expect(employer.locator(f"#verdict-{token}")).to_have_text("VALID")
        employer.screenshot(path=str(SHOTS / f"{next(step):02d}-employer-verifies.png"), full_page=True)
        browser.close()
    assert len(list(SHOTS.glob("*.png"))) >= 6


def _signed_in_as(page: Any, address: str) -> None:
    """The page's session is this wallet's (the status line may already show a live chain event)."""
    from playwright.sync_api import expect

    expect(page.locator("#connect")).to_have_text("Signed in")
    assert page.evaluate("sessionStorage.getItem('sc-me')") == address


def _click_until_sent(page: Any, button: str) -> None:
    """Live updates may re-render the page under the pointer; click again until the wallet sent it."""
    for _ in range(5):
        page.get_by_role("button", name=button).click()
        try:
            page.locator("#status").filter(has_text="Sent:").wait_for(timeout=3000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try again
            continue
    raise AssertionError(f"clicking {button!r} never sent a transaction")


def _sign_in_token(base: str, account: Any) -> str:
    from datetime import UTC, datetime

    from api.auth.siwe import SiweMessage
    from tests.api.siwe_helpers import iso

    host = base.removeprefix("http://")
    nonce = httpx.get(f"{base}/auth/nonce").json()["nonce"]
    text = SiweMessage(
        domain=host,
        address=account.address,
        statement="Sign in",
        uri=base,
        version="1",
        chain_id=31337,
        nonce=nonce,
        issued_at=iso(datetime.now(UTC)),
    ).to_text()
    sig = "0x" + Account.sign_message(encode_defunct(text=text), account.key).signature.hex().removeprefix(
        "0x"
    )
    return str(httpx.post(f"{base}/auth/verify", json={"message": text, "signature": sig}).json()["token"])


def _eventually(page: Any, check: Any, url: str, timeout: float = 20.0) -> None:
    """The read model follows the chain within a second or so: reload until the page shows it."""
    deadline = time.monotonic() + timeout
    while True:
        if page.url == url:
            page.reload()
        else:
            page.goto(url)
        page.wait_for_timeout(300)
        if check():
            return
        if time.monotonic() > deadline:
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            status = page.locator("#status").text_content()
            status = f"{status!r}; indexer: {served_errors}"
            raise AssertionError(
                f"{url} never showed the expected state; status: {status!r} (see test-output/web/failure.png)"
            )
        page.wait_for_timeout(300)
