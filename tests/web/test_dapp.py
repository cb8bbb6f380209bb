"""The dApp (web/, React + wagmi) in Debian's Chromium driven by Playwright, against the real API,
indexer and anvil. Each person has their own browser context and an injected EIP-1193 wallet
(announced through EIP-6963) that signs with an anvil dev key and forwards reads to anvil.

Controls are found only by role and accessible name. Screenshots of each step, at 1280 and 390 px,
go to test-output/web/; axe-core runs on every page at both widths."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright
from pydantic import SecretStr
from sqlalchemy import select, update

from api.app import create_app
from chain.artifacts import load_artifact
from chain.relayer import external_ref
from chain.toolchain import PROJECT_ROOT
from chain.tx import Sender, anvil_account
from db.booking import bookings
from db.engine import make_engine
from indexer.rpc import RpcClient
from indexer.runner import Indexer, IndexerConfig
from tests.api.conftest_chain import Stack
from tests.api.razorpay_standin import KEY_ID as RAZORPAY_KEY_ID
from tests.api.razorpay_standin import KEY_SECRET as RAZORPAY_KEY_SECRET
from tests.api.razorpay_standin import RazorpayStandIn, running_razorpay_standin
from tests.api.stripe_standin import StripeStandIn, running_stripe_standin
from tests.net import free_port, serve_in_thread
from tests.smtp_inbox import Inbox, link_token, smtp_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = PROJECT_ROOT / "test-output" / "web"
AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
LEARNER, MENTOR, ARBITER = anvil_account(1), anvil_account(2), anvil_account(9)  # the mentor is an issuer
CHAIN = "Local chain (anvil)"
RAZORPAY_WEBHOOK_SECRET = "rzp_whsec_test_dapp"  # the stand-in's, not a real one
STRIPE_WEBHOOK_SECRET = "whsec_test_dapp"  # the stand-in's, not a real one
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
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

# A browser wallet as the page meets it: window.ethereum and an EIP-6963 announcement. It starts on
# `start_chain` (1 = mainnet: the dApp must ask to switch) and refuses the next signature or
# transaction when window.__rejectNext is set, as a user pressing "Reject" does (EIP-1193 code 4001).
WALLET = """
(() => {
  const account = %(account)s, localChain = %(chain)d;
  let chainId = Number(sessionStorage.getItem("__walletChain") || %(start_chain)d);
  const listeners = {};
  const emit = (event, value) => (listeners[event] || []).forEach((fn) => fn(value));
  const hex = (n) => "0x" + n.toString(16);
  const provider = {
    async request({ method, params }) {
      params = params || [];
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [account];
      if (method === "eth_chainId") return hex(chainId);
      if (method === "net_version") return String(chainId);
      if (method === "wallet_switchEthereumChain") {
        const wanted = parseInt(params[0].chainId, 16);
        if (wanted !== localChain) throw Object.assign(new Error("Unrecognized chain ID"), { code: 4902 });
        chainId = wanted;
        sessionStorage.setItem("__walletChain", String(wanted));
        emit("chainChanged", hex(wanted));
        return null;
      }
      if (method === "wallet_addEthereumChain") { window.__addedChain = params[0]; return null; }
      if (method === "wallet_requestPermissions" || method === "wallet_getPermissions") return [{ parentCapability: "eth_accounts" }];
      if (window.__rejectNext && ["personal_sign", "eth_sendTransaction", "eth_signTypedData_v4"].includes(method)) {
        window.__rejectNext = false;
        throw Object.assign(new Error("User rejected the request."), { code: 4001 });
      }
      const answer = JSON.parse(await window.__walletRequest(JSON.stringify({ method, params })));
      if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
      return answer.result;
    },
    on(event, fn) { (listeners[event] ||= []).push(fn); return provider; },
    removeListener(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); return provider; },
  };
  const info = { uuid: "6c3f6a7e-0000-4000-8000-000000000001", name: "Test wallet", rdns: "test.skillchain",
    icon: "data:image/svg+xml,%%3Csvg xmlns='http://www.w3.org/2000/svg'/%%3E" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  window.ethereum = provider;
})();
"""


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    """The SMTP server on loopback the served API mails through."""
    with smtp_server() as received:
        yield received


@pytest.fixture(scope="module")
def razorpay() -> Iterator[tuple[str, RazorpayStandIn]]:
    """Razorpay's API stand-in on loopback (tests/api/razorpay_standin.py) the served API pays through."""
    with running_razorpay_standin() as running:
        yield running


@pytest.fixture(scope="module")
def stripe() -> Iterator[tuple[str, StripeStandIn]]:
    """Stripe's API stand-in on loopback (tests/api/stripe_standin.py) the served API pays through."""
    with running_stripe_standin() as running:
        yield running


@pytest.fixture(scope="module")
def served(
    stack: Stack, inbox: Inbox, razorpay: tuple[str, RazorpayStandIn], stripe: tuple[str, StripeStandIn]
) -> Iterator[tuple[str, Stack]]:
    """The API on a real port (sign-in's domain is its host) and an indexer following the chain; card
    payments through the Stripe and Razorpay stand-ins, the payment worker running."""
    port = free_port()
    settings = stack.settings.model_copy(
        update={
            "api_port": port,
            "siwe_domain": f"127.0.0.1:{port}",
            **{"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_starttls": False},
            "razorpay_key_id": RAZORPAY_KEY_ID,
            "razorpay_key_secret": SecretStr(RAZORPAY_KEY_SECRET),
            "razorpay_webhook_secret": SecretStr(RAZORPAY_WEBHOOK_SECRET),
            "razorpay_api_base": razorpay[0],
            "stripe_secret_key": SecretStr("sk_test_standin"),
            "stripe_webhook_secret": SecretStr(STRIPE_WEBHOOK_SECRET),
            "stripe_api_base": stripe[0],
        }
    )
    app = create_app(settings)
    base, server, thread = serve_in_thread(app, port=port)
    stop = threading.Event()
    engine = make_engine(settings.effective_database_url)
    indexer = Indexer(
        engine,
        RpcClient(stack.chain.url),
        IndexerConfig.from_record(stack.record, finality_depth=64, poll_interval=0.1),
        wake=app.state.hub.bus.wake,  # the API's live streams hear each commit at once
    )
    indexing = threading.Thread(target=lambda: indexer.run(stop=stop), daemon=True)
    indexing.start()
    _mentor_listing(base)
    try:
        yield base, stack
    finally:
        stop.set()
        server.should_exit = True
        indexing.join(timeout=10)
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module", autouse=True)
def _shots() -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)


def wallet_handler(stack: Stack, account: Any) -> Any:
    """What the wallet extension does: sign with the key, send, and pass reads to the node."""

    def handle(raw: str) -> str:
        req = json.loads(raw)
        method, params = req["method"], req["params"]
        try:
            if method == "personal_sign":
                message = params[0]
                signable = (
                    encode_defunct(hexstr=message)
                    if message.startswith("0x")
                    else encode_defunct(text=message)
                )
                result: Any = _hex(Account.sign_message(signable, account.key).signature)
            elif method == "eth_signTypedData_v4":
                typed = params[1] if isinstance(params[1], dict) else json.loads(params[1])
                result = _hex(
                    Account.sign_message(encode_typed_data(full_message=typed), account.key).signature
                )
            elif method == "eth_sendTransaction":
                tx = params[0]
                assert tx["from"].lower() == account.address.lower(), "the wallet signs only for its account"
                receipt = Sender(stack.w3, account).send(
                    {"to": tx["to"], "data": tx.get("data", "0x"), "value": int(tx.get("value", "0x0"), 16)}
                )  # type: ignore[typeddict-item]
                result = _hex(receipt["transactionHash"])
            else:
                answer = stack.w3.provider.make_request(method, params)
                if "error" in answer:
                    return json.dumps({"error": answer["error"]})
                result = answer["result"]
            return json.dumps({"result": result})
        except Exception as exc:  # noqa: BLE001 - the page shows wallet errors to the user
            return json.dumps({"error": {"code": -32000, "message": str(exc)}})

    return handle


def _hex(value: bytes | Any) -> str:
    return "0x" + bytes(value).hex().removeprefix("0x")


@dataclass
class Person:
    """One user in their own browser context (own tab storage), with or without a wallet."""

    name: str
    context: BrowserContext
    page: Page
    base: str
    steps: list[str] = field(default_factory=list)

    def go(self, route: str = "/") -> None:
        self.page.goto(f"{self.base}/#{route}")

    def shot(self, step: str) -> None:
        """A screenshot of this step at both widths, each audited by axe-core (0 violations)."""
        index = len(list(SHOTS.glob("*.png"))) // 2
        found = []
        for label, size in WIDTHS.items():
            self.page.set_viewport_size(size)
            self.page.screenshot(
                path=str(SHOTS / f"{index:02d}-{self.name}-{step}-{label}.png"), full_page=True
            )
            found += [f"{step} {label}: {v['id']} ({v['help']}) at {v['nodes']}" for v in axe(self.page)]
        self.page.set_viewport_size(WIDTHS["desktop"])
        assert not found, "\n".join(found)

    def status(self) -> Any:
        return self.page.get_by_role("status").filter(has_text=re.compile(".+")).last

    def sign_in(self) -> None:
        connect = self.page.get_by_role("button", name="Connect wallet")
        switch = self.page.get_by_role("button", name=f"Switch to {CHAIN}")
        sign_in = self.page.get_by_role("button", name="Sign in", exact=True)
        expect(connect.or_(switch).or_(sign_in)).to_be_visible()
        if connect.is_visible():  # a wallet this site used before reconnects by itself
            connect.click()
        expect(switch.or_(sign_in)).to_be_visible()
        if switch.is_visible():
            switch.click()
        sign_in.click()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()


def person(
    browser: Browser,
    base: str,
    stack: Stack,
    name: str,
    account: Any | None,
    start_chain: int = 31337,
    timezone: str = "Europe/Madrid",
) -> Person:
    context = browser.new_context(viewport=WIDTHS["desktop"], timezone_id=timezone)
    context.add_init_script(path=str(AXE))  # init scripts run outside the page's CSP, which stays on
    if account is not None:
        context.expose_function("__walletRequest", wallet_handler(stack, account))
        context.add_init_script(
            WALLET % {"account": json.dumps(account.address), "chain": 31337, "start_chain": start_chain}
        )
    page = context.new_page()
    page.set_default_timeout(30_000)
    # What the page logs is printed with a failing test's output.
    page.on(
        "console",
        lambda m: print(f"[{name} console.{m.type}] {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: print(f"[{name} page error] {e}"))
    return Person(name, context, page, base)


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA violations on the page as shown."""
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }))"
        ".violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }))"
    )
    return found


def _mentor_listing(base: str) -> None:
    headers = {"Authorization": "Bearer " + _sign_in_token(base, MENTOR)}
    httpx.put(
        f"{base}/me/profile",
        headers=headers,
        json={
            "display_name": "Maya the mentor",
            "bio": "Ten years of Solidity.",
            "skills": ["solidity"],
            "languages": ["en", "es"],
        },
    ).raise_for_status()
    httpx.post(
        f"{base}/listings",
        headers=headers,
        json={
            "kind": "offer",
            "skill": "solidity",
            "title": "Solidity mentoring",
            "description": "hands-on",
            "price": "40",
            "currency": "USD",
            "languages": ["en"],
        },
    ).raise_for_status()
    # A session listing over the mentor's published hours (every day, all day, in Berlin).
    every_day = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
    httpx.put(
        f"{base}/me/availability", headers=headers, json={"timezone": "Europe/Berlin", "rules": every_day}
    ).raise_for_status()
    httpx.post(
        f"{base}/listings",
        headers=headers,
        json={
            "kind": "offer",
            "skill": "python",
            "title": "Python sessions",
            "description": "one hour",
            "price": "0.01",
            "currency": "ETH",
            "session": {
                "duration_minutes": 60,
                "notice_minutes": 120,
                "horizon_days": 14,
                "booking": "request",
            },
        },
    ).raise_for_status()
    instant = {"duration_minutes": 60, "notice_minutes": 120, "horizon_days": 14, "booking": "instant"}
    httpx.post(
        f"{base}/listings",
        headers=headers,
        json={
            "kind": "offer",
            "skill": "rust",
            "title": "Rust sessions",
            "description": "booked at once",
            "price": "0.02",
            "currency": "ETH",
            "session": instant,
        },
    ).raise_for_status()


def test_the_whole_flow_between_two_people(served: tuple[str, Stack], browser: Browser) -> None:
    base, stack = served
    learner = person(browser, base, stack, "learner", LEARNER, start_chain=1)  # wallet on the wrong chain
    mentor = person(browser, base, stack, "mentor", MENTOR)

    # The learner finds the mentor; the wallet starts on mainnet, so the dApp asks to switch first.
    learner.go("/")
    expect(learner.page.get_by_role("heading", name="Find a mentor", level=1)).to_be_visible()
    connect = learner.page.get_by_role("button", name="Connect wallet")
    if connect.is_visible():
        connect.click()
    # Regression: a wallet on the wrong chain was never asked to switch.
    expect(learner.page.get_by_role("button", name=f"Switch to {CHAIN}")).to_be_visible()
    learner.sign_in()
    learner.shot("signed-in")
    card = learner.page.get_by_role("listitem").filter(
        has=learner.page.get_by_role("link", name="Book Solidity mentoring")
    )
    expect(card.first).to_contain_text("Maya the mentor")  # the owner's profile name, not only an address
    learner.page.get_by_role("link", name="Book Solidity mentoring").first.click()

    # Amounts in human units: "0.01" is accepted (it was a pattern error in wei), the quote adds up.
    learner.page.get_by_label("Amount (ETH)").fill("abc")
    expect(learner.page.get_by_text("Enter a number such as 0.01.")).to_be_visible()
    learner.page.get_by_label("Amount (ETH)").fill("0.01")
    quote = learner.page.get_by_label("Quote")
    expect(quote).to_contain_text("0.01 ETH")
    expect(quote).to_contain_text("0.00025 ETH")  # the 2.5 % fee
    expect(quote).to_contain_text("0.00975 ETH")
    learner.shot("quote")

    # A rejected signature says so and sends nothing; then the real one goes through.
    learner.page.evaluate("window.__rejectNext = true")
    learner.page.get_by_role("button", name="Fund with my wallet").click()
    expect(learner.status()).to_contain_text("You cancelled in your wallet")
    learner.page.get_by_role("button", name="Fund with my wallet").click()
    expect(learner.page.get_by_role("heading", name="My engagements")).to_be_visible()
    link = learner.page.get_by_role("link", name=re.compile(r"^Engagement \d+$")).first
    expect(link).to_be_visible()
    link.click()
    expect(learner.page.get_by_text("Waiting for the mentor")).to_be_visible()
    route = learner.page.url.split("#", 1)[1]
    expect(learner.page.get_by_text("Solidity mentoring", exact=True)).to_be_visible()  # the terms' title

    # The mentor accepts and delivers; the learner's page follows live, without a reload.
    mentor.go(route)
    mentor.sign_in()
    mentor.page.get_by_role("button", name="Accept request").click()
    mentor.page.get_by_label("What you delivered for milestone 1").fill("Walked through the escrow code")
    mentor.page.get_by_role("button", name="Submit milestone 1").click()
    expect(mentor.page.get_by_text("Submitted", exact=True)).to_be_visible()
    mentor.shot("submitted")
    approve = learner.page.get_by_role("button", name="Approve milestone 1")
    expect(approve).to_be_visible()  # arrived over the live stream
    # What was delivered, read from its document (the contract holds only its digest).
    expect(learner.page.get_by_text("Delivered:")).to_contain_text("Walked through the escrow code")

    # Approving asks for confirmation, saying what it does.
    approve.click()
    expect(learner.page.get_by_text("Approving pays this milestone to the mentor")).to_be_visible()
    learner.page.get_by_role("button", name="Yes, Approve milestone 1").click()
    expect(learner.page.get_by_role("button", name="Post review")).to_be_visible()

    # A half-written review survives a live update (the mentor reviewing first).
    learner.page.get_by_label("Comment").fill("Clear and patient")
    mentor.page.get_by_label("Comment").fill("A great learner")
    mentor.page.get_by_role("button", name="Post review").click()
    expect(mentor.page.get_by_text("Review sent. Thank you.")).to_be_visible()
    learner.page.wait_for_timeout(1500)  # the mentor's review reaches the learner's stream meanwhile
    expect(learner.page.get_by_label("Comment")).to_have_value("Clear and patient")
    learner.page.get_by_role("button", name="Post review").click()
    expect(learner.page.get_by_text("Review sent. Thank you.")).to_be_visible()
    learner.page.reload()  # one review per side: after a reload the form is not offered again
    expect(learner.page.get_by_text("You have reviewed this engagement")).to_be_visible()
    expect(learner.page.get_by_role("button", name="Post review")).to_have_count(0)
    learner.shot("reviewed")

    # The mentor withdraws what they earned; the balance changes to nothing.
    mentor.go("/earnings")
    expect(mentor.page.get_by_text("0.00975 ETH")).to_be_visible()
    mentor.shot("earnings")
    mentor.page.get_by_role("button", name="Withdraw ETH").click()
    mentor.page.get_by_role("button", name="Yes, Withdraw ETH").click()
    expect(mentor.page.get_by_text("Nothing is owed to you right now.")).to_be_visible()
    history = mentor.page.get_by_role("list", name="Withdrawals")
    expect(history.get_by_role("listitem").first).to_contain_text("0.00975 ETH to your wallet")

    # The mentor, an accredited issuer, issues a credential and signs a voucher (nonces above 2^53).
    mentor.go("/issuer")
    mentor.page.get_by_label("Holder address").fill(LEARNER.address)
    mentor.page.get_by_label("Name", exact=True).fill("Solidity Developer")
    mentor.page.get_by_role("button", name="Sign a voucher instead").click()
    expect(mentor.status()).to_contain_text("Voucher signed")
    mentor.page.get_by_label("Name", exact=True).fill("Escrow Auditor")
    mentor.page.get_by_role("button", name="Issue on-chain").click()
    share = mentor.page.get_by_role("link", name="Open its share link").first  # the one just issued
    expect(share).to_be_visible()
    mentor.shot("issued")
    verify_route = (share.get_attribute("href") or "").removeprefix("#")
    assert verify_route.startswith("/verify/")

    # The learner redeems the voucher.
    learner.go("/credentials")
    learner.page.get_by_role("button", name="Redeem").click()
    expect(learner.status()).to_contain_text("Done")

    # An employer with no wallet opens the share link: one verdict, then each check.
    employer = person(browser, base, stack, "employer", None)
    employer.go(verify_route)
    expect(employer.page.get_by_role("heading", name="Valid credential")).to_be_visible()
    checks = employer.page.get_by_role("list", name="Checks made")
    for check in ("Exists on-chain", "Not revoked", "Not expired", "Its document matches the on-chain hash"):
        expect(checks).to_contain_text(check)
    expect(checks).to_contain_text("The issuer was accredited when it was issued")
    expect(checks).to_contain_text("The issuer is accredited now")
    employer.shot("verifies")
    # The employer asks the candidate to prove the wallet is theirs: a one-time challenge, signed by
    # the candidate's wallet on their credentials page, checked by the employer.
    employer.page.get_by_role("button", name="Create a challenge").click()
    code = employer.page.get_by_label("Challenge code", exact=True).inner_text().strip()
    learner.go("/credentials")
    learner.page.get_by_label("The employer's challenge code").fill(code)
    learner.page.get_by_role("button", name="Sign the challenge").click()
    signed = learner.page.get_by_label("Your signature")
    expect(signed).to_have_value(re.compile("^0x[0-9a-f]{130}$"))
    employer.page.get_by_label("The candidate's wallet address").fill(LEARNER.address)
    employer.page.get_by_label("The signature they sent").fill(signed.input_value())
    employer.page.get_by_role("button", name="Check the signature").click()
    presented = employer.page.get_by_role("region", name="Presentation")
    expect(presented).to_contain_text(f"The candidate controls {LEARNER.address}")
    expect(presented).to_contain_text("Escrow Auditor · Valid credential")
    employer.shot("presentation")
    for p in (learner, mentor, employer):
        p.context.close()


def test_an_issuer_issues_to_a_cohort_and_revokes_one_with_a_reason(
    served: tuple[str, Stack], browser: Browser
) -> None:
    """The mentor, an accredited issuer: a cohort of two in one form (each line refused or sent, with
    progress), then "Credentials you issued" revokes one with a reason, which verification shows."""
    base, stack = served
    issuer = person(browser, base, stack, "issuer", MENTOR)
    issuer.go("/issuer")
    issuer.sign_in()
    cohort = issuer.page.get_by_role("region", name="Issue to a cohort")
    cohort.get_by_label("Holders and names").fill(
        f"not-an-address, Someone\n{LEARNER.address}, Cohort graduate"
    )
    cohort.get_by_role("button", name="Prepare and send").click()
    expect(cohort.get_by_role("alert")).to_contain_text("Line 1 is not")
    other = anvil_account(3)
    cohort.get_by_label("Holders and names").fill(
        f"{LEARNER.address}, Cohort graduate\n{other.address}, Cohort graduate"
    )
    cohort.get_by_role("button", name="Prepare and send").click()
    expect(cohort.get_by_text("2 of 2 issued.")).to_be_visible()
    issuer.shot("cohort-issued")
    issuer.page.reload()
    issued = issuer.page.get_by_role("region", name="Credentials you issued")
    card = issued.get_by_role("listitem").filter(has_text=other.address[:6]).first
    expect(card).to_be_visible()
    card.get_by_role("button", name="Revoke").click()
    card.get_by_label("Reason (shown to verifiers)").fill("Issued to the wrong wallet")
    card.get_by_role("button", name="Yes, Revoke").click()
    expect(card.get_by_text("revoked", exact=True)).to_be_visible()
    share = card.get_by_role("link", name="Open its share link").get_attribute("href") or ""
    employer = person(browser, base, stack, "cohort-employer", None)
    employer.go(share.removeprefix("#"))
    expect(employer.page.get_by_role("heading", name="Not valid")).to_be_visible()
    expect(employer.page.get_by_role("list", name="Checks made")).to_contain_text("Revoked by its issuer")
    for p in (issuer, employer):
        p.context.close()


def test_paying_by_card_through_razorpay_funds_the_engagement(
    served: tuple[str, Stack], browser: Browser, razorpay: tuple[str, RazorpayStandIn]
) -> None:
    """The learner pays 25 tUSD of work in INR on Razorpay's hosted page (the stand-in's, caught by
    the browser); Razorpay's webhooks come; the relayer funds the escrow; the learner sees it."""
    base, stack = served
    _, standin = razorpay
    learner = person(browser, base, stack, "card-learner", LEARNER)
    hosted: list[str] = []

    def razorpay_page(route: Route) -> None:
        hosted.append(route.request.url)
        route.fulfill(
            status=200, content_type="text/html", body="<title>Razorpay</title><h1>Razorpay stand-in</h1>"
        )

    learner.context.route("https://rzp.standin.test/**", razorpay_page)
    learner.go("/")
    learner.sign_in()
    learner.page.get_by_role("link", name="Book Solidity mentoring").first.click()
    learner.page.get_by_label("Pay in").select_option(label="tUSD")
    learner.page.get_by_label("Amount (tUSD)").fill("25")
    learner.shot("card-quote")
    learner.page.get_by_role("button", name=re.compile(r"^Pay with Razorpay \(INR")).click()
    expect(learner.page.get_by_role("heading", name="Razorpay stand-in")).to_be_visible()
    [link] = [
        lk
        for lk in standin.links.values()
        if hosted and hosted[0].endswith(lk["short_url"].rsplit("/", 1)[1])
    ]
    assert link["amount"] == 200000 and link["currency"] == "INR"  # 25 USD at INR/USD 0.0125, in paise
    order, payment = standin.pay(link["id"])
    for kind, entities in [
        ("payment.captured", {"payment": payment}),
        ("order.paid", {"payment": payment, "order": order}),
    ]:
        body = RazorpayStandIn.event(kind, **entities)
        delivered = httpx.post(
            f"{base}/payments/razorpay/webhook",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Razorpay-Signature": RazorpayStandIn.sign(body, RAZORPAY_WEBHOOK_SECRET),
                "X-Razorpay-Event-Id": f"evt_{kind}_{order['id']}",
            },
        )
        assert delivered.status_code == 200, delivered.text
    escrow = stack.w3.eth.contract(
        address=stack.record.address_of("SkillEscrow"), abi=load_artifact("SkillEscrow").abi
    )
    ref = external_ref(order["id"])

    def fundings() -> list[Any]:
        logs = escrow.events.EngagementCreated.get_logs(from_block=0)
        return [e for e in logs if bytes(e.args.externalRef) == ref]

    deadline = time.monotonic() + 60  # the API's payment worker looks every second
    while not fundings() and time.monotonic() < deadline:
        time.sleep(0.2)
    funded = fundings()
    assert len(funded) == 1 and funded[0].args.client == LEARNER.address
    learner.go(f"/engagements/{funded[0].args.id}")  # the indexer shows it to the learner
    expect(learner.page.get_by_text("Waiting for the mentor")).to_be_visible()
    learner.context.close()


def test_paying_by_card_through_stripe_funds_the_engagement(
    served: tuple[str, Stack], browser: Browser, stripe: tuple[str, StripeStandIn]
) -> None:
    """The learner pays 25 tUSD of work in USD on Stripe Checkout (the stand-in's page, caught by the
    browser); the signed checkout.session.completed webhook comes; the relayer funds the escrow once."""
    base, stack = served
    _, standin = stripe
    learner = person(browser, base, stack, "stripe-learner", LEARNER)
    hosted: list[str] = []

    def stripe_page(route: Route) -> None:
        hosted.append(route.request.url)
        route.fulfill(
            status=200, content_type="text/html", body="<title>Stripe</title><h1>Stripe stand-in</h1>"
        )

    learner.context.route("https://checkout.stripe.test/**", stripe_page)
    learner.go("/")
    learner.sign_in()
    learner.page.get_by_role("link", name="Book Solidity mentoring").first.click()
    learner.page.get_by_label("Pay in").select_option(label="tUSD")
    learner.page.get_by_label("Amount (tUSD)").fill("25")
    learner.page.get_by_role("button", name="Pay by card").click()
    expect(learner.page.get_by_role("heading", name="Stripe stand-in")).to_be_visible()
    [sid] = [s for s in standin.sessions if hosted and hosted[0].endswith(s)]
    session = standin.sessions[sid]
    assert (session["amount_total"], session["currency"]) == (2500, "usd")  # 25 USD in cents
    completed = standin.complete(sid, paid=True)
    body = StripeStandIn.event("checkout.session.completed", completed)
    for _ in range(2):  # Stripe delivers at least once: a repeat funds nothing more
        delivered = httpx.post(
            f"{base}/payments/webhook",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": StripeStandIn.sign(body, STRIPE_WEBHOOK_SECRET),
            },
        )
        assert delivered.status_code == 200, delivered.text
    escrow = stack.w3.eth.contract(
        address=stack.record.address_of("SkillEscrow"), abi=load_artifact("SkillEscrow").abi
    )
    ref = external_ref(sid)

    def fundings() -> list[Any]:
        logs = escrow.events.EngagementCreated.get_logs(from_block=0)
        return [e for e in logs if bytes(e.args.externalRef) == ref]

    deadline = time.monotonic() + 60  # the API's payment worker looks every second
    while not fundings() and time.monotonic() < deadline:
        time.sleep(0.2)
    funded = fundings()
    assert len(funded) == 1 and funded[0].args.client == LEARNER.address
    learner.go(f"/engagements/{funded[0].args.id}")
    expect(learner.page.get_by_text("Waiting for the mentor")).to_be_visible()
    learner.context.close()


def _until_status(base: str, engagement: int, status: str) -> dict[str, Any]:
    """Polls an engagement until the served indexer has it in `status`."""
    for _ in range(150):
        got = httpx.get(f"{base}/engagements/{engagement}").json()
        if got.get("status") == status:
            return dict(got)
        time.sleep(0.1)
    raise AssertionError(f"engagement {engagement} stayed {got.get('status')!r}, never {status!r}")


def test_a_dispute_with_shared_evidence_is_resolved_by_the_arbiter_with_a_split(
    served: tuple[str, Stack], browser: Browser
) -> None:
    """Delivered work the learner disputes (with a statement), a message shared as evidence, and the
    arbiter, who sees only what was shared, splits the escrow 30/70 with the slider's preview."""
    base, stack = served
    learner_h = {"Authorization": "Bearer " + _sign_in_token(base, LEARNER)}
    mentor_h = {"Authorization": "Bearer " + _sign_in_token(base, MENTOR)}
    prepared = httpx.post(
        f"{base}/engagements/prepare",
        headers=learner_h,
        json={
            "provider": MENTOR.address,
            "title": "Audit review",
            "skill": "solidity",
            "milestones": [
                {"title": "Review", "amount": str(10**16), "due_date": int(time.time()) + 10 * 86400}
            ],
        },
    )
    assert prepared.status_code == 200, prepared.text
    stack.send(LEARNER, prepared.json()["tx"])
    time.sleep(0.5)
    mine = httpx.get(f"{base}/me/engagements", headers=learner_h, params={"limit": 100}).json()["data"]
    eid = max(e["id"] for e in mine if e["provider"] == MENTOR.address)
    _until_status(base, eid, "requested")
    stack.send(MENTOR, httpx.post(f"{base}/engagements/{eid}/accept", headers=mentor_h).json())
    _until_status(base, eid, "active")
    submit = httpx.post(
        f"{base}/engagements/{eid}/milestones/0/submit",
        headers=mentor_h,
        json={"summary": "One page of notes"},
    )
    assert submit.status_code == 200, submit.text
    stack.send(MENTOR, submit.json()["tx"])
    thread = httpx.post(f"{base}/engagements/{eid}/thread", headers=mentor_h).json()["id"]
    said = httpx.post(
        f"{base}/threads/{thread}/messages", headers=mentor_h, json={"body": "I will not look at the tests."}
    )
    assert said.status_code == 201, said.text
    for _ in range(100):  # the submission indexed
        if httpx.get(f"{base}/engagements/{eid}").json()["milestones"][0]["state"] == "submitted":
            break
        time.sleep(0.1)

    learner = person(browser, base, stack, "dispute-learner", LEARNER)
    learner.go(f"/engagements/{eid}")
    learner.sign_in()
    learner.page.get_by_role("button", name="Open a dispute").click()
    # No dispute without a statement (the old page sent a hard-coded one in a single click).
    expect(learner.page.get_by_role("button", name="Yes, Open a dispute")).to_be_disabled()
    learner.page.get_by_label("Your statement for the arbiter").fill("   ")
    expect(learner.page.get_by_role("button", name="Yes, Open a dispute")).to_be_disabled()
    learner.page.get_by_label("Your statement for the arbiter").fill("The review skipped the test suite.")
    learner.page.get_by_role("button", name="Yes, Open a dispute").click()
    expect(learner.status()).to_contain_text("Done: Open a dispute", timeout=60_000)  # sent and indexed
    _until_status(base, eid, "disputed")
    learner.page.reload()
    sharing = learner.page.get_by_role("region", name="Share with the arbiter")
    sharing.get_by_label(re.compile("I will not look at the tests")).check()  # the thread has loaded
    pdf = b"%PDF-1.4\n% the CI log of the failing tests\n" + bytes(200)
    expect(sharing.get_by_label("Add a file for the arbiter (image or PDF)")).to_be_enabled()
    sharing.get_by_label("Add a file for the arbiter (image or PDF)").set_input_files(
        files=[{"name": "ci-log.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    expect(learner.status()).to_contain_text("ci-log.pdf is added")
    expect(sharing.get_by_label(re.compile("ci-log.pdf"))).to_be_checked()  # chosen already
    expect(sharing.get_by_label(re.compile("I will not look at the tests"))).to_be_checked()  # kept
    sharing.get_by_role("button", name="Share the chosen items").click()
    expect(learner.status()).to_contain_text("Shared with the arbiter: 2 new item(s).")
    learner.shot("dispute-shared")

    arbiter = person(browser, base, stack, "arbiter", ARBITER)
    arbiter.go("/arbiter")
    arbiter.sign_in()
    case = arbiter.page.get_by_role("region", name=f"Engagement {eid}")
    expect(case).to_contain_text("Maya the mentor")  # the parties by their profile names
    expect(case).to_contain_text("I will not look at the tests.")  # what was shared, and only that
    with arbiter.page.expect_download() as downloading:
        case.get_by_role("button", name=re.compile(r"^Download ci-log\.pdf")).click()
    assert downloading.value.suggested_filename == "ci-log.pdf"
    assert open(downloading.value.path(), "rb").read() == pdf  # the file as the learner shared it
    split = case.get_by_label(re.compile("Mentor's share"))
    split.focus()
    for _ in range(4):  # 50 % → 30 %, by the keyboard
        arbiter.page.keyboard.press("ArrowLeft")
    expect(case).to_contain_text("Mentor's share: 30 %")
    # What each side would get, as the contract splits it: the fee is on the mentor's share only.
    expect(case).to_contain_text(
        "The mentor gets 0.002925 ETH · the learner gets 0.007 ETH · fee 0.000075 ETH"
    )
    arbiter.shot("split")
    case.get_by_role("button", name="Resolve").click()
    case.get_by_role("button", name="Yes, Resolve").click()
    expect(arbiter.status()).to_contain_text("Done")
    settled = _until_status(base, eid, "settled")
    assert settled["milestones"][0]["provider_share_bps"] == 3000
    expect(arbiter.page.get_by_text("No open dispute names you as arbiter.")).to_be_visible()
    # After the resolution, the engagement says who got what (the fee is a share of the mentor's part).
    learner.go(f"/engagements/{eid}")
    expect(learner.page.get_by_text("The arbiter gave the mentor 30 %:")).to_contain_text(
        "the mentor received 0.002925 ETH · the payer got back 0.007 ETH · fee 0.000075 ETH"
    )
    learner.shot("resolved")
    for p in (learner, arbiter):
        p.context.close()


def test_a_slot_taken_while_another_learner_looked_is_said_in_words(
    served: tuple[str, Stack], browser: Browser
) -> None:
    """Two learners look at the same free slot; one holds it first; the other's click is refused in
    words (the database decided the race) and the slot leaves the second learner's list."""
    base, stack = served
    first = person(browser, base, stack, "first-learner", anvil_account(5))
    second = person(browser, base, stack, "second-learner", anvil_account(6))
    for p in (first, second):
        p.go("/")
        p.sign_in()
        p.page.get_by_role("link", name="Book Python sessions").click()
    seen = second.page.get_by_role("button", name=re.compile(r"^Book ")).nth(5)
    expect(seen).to_be_visible()
    name = seen.get_attribute("aria-label") or ""  # "Book <day>, <time>": one slot
    assert name.startswith("Book ")
    first.page.get_by_role("button", name=name, exact=True).click()
    expect(first.page.get_by_role("heading", name=re.compile("^Held for you"))).to_be_visible()
    second.page.get_by_role("button", name=name, exact=True).click()
    expect(second.status()).to_contain_text("This cannot be done now")
    expect(second.status()).to_contain_text("just taken")
    expect(second.page.get_by_role("button", name=name, exact=True)).to_have_count(0)  # listed no more
    second.shot("slot-taken")
    # The first learner reads the quote too long: the hold runs out (moved into the past here) and the
    # second learner takes the time. Paying now sends nothing and says why.
    engine = make_engine(stack.settings.effective_database_url)
    try:
        with engine.begin() as conn:
            held = conn.execute(
                select(bookings.c.id, bookings.c.listing_id, bookings.c.starts_at).where(
                    bookings.c.learner == anvil_account(5).address, bookings.c.status == "held"
                )
            ).one()
            conn.execute(
                update(bookings).where(bookings.c.id == held.id).values(hold_expires_at=int(time.time()) - 1)
            )
    finally:
        engine.dispose()
    token = _sign_in_token(base, anvil_account(6))
    taken = httpx.post(
        f"{base}/bookings",
        headers={"Authorization": f"Bearer {token}"},
        json={"listing_id": held.listing_id, "starts_at": held.starts_at},
    )
    assert taken.status_code == 201, taken.text
    first.page.get_by_role("button", name="Fund with my wallet").click()
    expect(first.status()).to_contain_text("Your hold on this time ran out before you paid")
    mine = httpx.get(
        f"{base}/bookings/{held.id}",
        headers={"Authorization": "Bearer " + _sign_in_token(base, anvil_account(5))},
    ).json()
    assert mine["state"] == "expired" and mine["engagement_id"] is None  # nothing was funded
    for p in (first, second):
        p.context.close()


def test_booking_a_session_slot_in_the_learners_time_zone(
    served: tuple[str, Stack], browser: Browser
) -> None:
    """A learner in Los Angeles picks a slot of a Berlin mentor, holds it, pays; the mentor accepts and
    the learner's page says confirmed, live."""
    base, stack = served
    learner = person(browser, base, stack, "slot-learner", LEARNER, timezone="America/Los_Angeles")
    mentor = person(browser, base, stack, "slot-mentor", MENTOR)
    learner.go("/")
    learner.sign_in()
    # "Free this week": only listings with a free slot in the next 7 days, each with its next free time.
    learner.page.get_by_label("Free this week").check()
    learner.page.get_by_role("button", name="Search").click()
    results = learner.page.get_by_role("region", name="Listings")
    expect(results.get_by_role("listitem").filter(has_text="Python sessions")).to_contain_text(
        "Next free time:"
    )
    expect(results).not_to_contain_text("Solidity mentoring")  # custom work: no slots
    learner.page.get_by_role("link", name="Book Python sessions").click()
    expect(
        learner.page.get_by_role("heading", name=re.compile(r"Pick a time .*America.Los_Angeles"))
    ).to_be_visible()
    slot = learner.page.get_by_role("button", name=re.compile(r"^Book ")).first
    expect(slot).to_be_visible()
    learner.shot("slots")
    slot.click()
    expect(learner.page.get_by_role("heading", name=re.compile("^Held for you"))).to_be_visible()
    expect(learner.page.get_by_label("Quote")).to_contain_text("0.01 ETH")
    learner.page.get_by_role("button", name="Fund with my wallet").click()
    expect(learner.page.get_by_text("paid — waiting for the mentor to accept")).to_be_visible()
    learner.shot("session-requested")
    mentor.go("/mentor")  # the desk lists the paid request, with its answer-by time
    mentor.sign_in()
    incoming = mentor.page.get_by_role("region", name="Bookings of your sessions")
    expect(incoming.get_by_text(re.compile(r"^Answer by "))).to_be_visible()
    mentor.shot("incoming-request")
    incoming.get_by_role("link", name="Accept or decline").first.click()
    mentor.page.get_by_role("button", name="Accept request").click()
    expect(mentor.page.get_by_text("The mentor accepted.")).to_be_visible()
    expect(learner.page.get_by_text("confirmed", exact=True)).to_be_visible()  # over the live stream
    for p in (learner, mentor):
        p.context.close()


def test_instant_booking_from_a_standing_offer_the_mentor_signed(
    served: tuple[str, Stack], browser: Browser
) -> None:
    base, stack = served
    mentor = person(browser, base, stack, "offer-mentor", MENTOR)
    learner = person(browser, base, stack, "offer-learner", LEARNER)
    mentor.go("/mentor")
    mentor.sign_in()
    amount = mentor.page.get_by_label("Price of one session of “Rust sessions” (ETH)")
    expect(amount).to_have_value("0.02")  # the listing's price, suggested
    mentor.page.get_by_role("button", name="Sign the standing offer").click()
    expect(mentor.status()).to_contain_text("can now be booked instantly")
    expect(mentor.page.get_by_text("Signed: learners pay 0.02 ETH per session.")).to_be_visible()
    learner.go("/")
    learner.sign_in()
    # The card says what the wallet pays: the mentor's signed amount.
    card = learner.page.get_by_role("listitem").filter(has_text="Rust sessions").first
    expect(card).to_contain_text("you pay 0.02 ETH (the mentor's signed price)")
    learner.page.get_by_role("link", name="Book Rust sessions").click()
    learner.page.get_by_role("button", name=re.compile(r"^Book ")).first.click()
    expect(learner.page.get_by_label("Quote")).to_contain_text("0.02 ETH")
    learner.page.get_by_role("button", name="Fund with my wallet").click()
    expect(learner.page.get_by_text("confirmed", exact=True)).to_be_visible()  # no acceptance needed
    learner.shot("instant-confirmed")
    # The mentor changes the listing's price: the desk asks to sign again.
    headers = {"Authorization": "Bearer " + _sign_in_token(base, MENTOR)}
    rust = next(
        x["id"]
        for x in httpx.get(f"{base}/listings", params={"owner": MENTOR.address, "limit": 50}).json()["data"]
        if x["title"] == "Rust sessions"
    )
    httpx.patch(f"{base}/listings/{rust}", headers=headers, json={"price": "0.03"}).raise_for_status()
    mentor.page.reload()
    expect(
        mentor.page.get_by_text(re.compile(r"price changed since you signed \(you signed for ETH\s0\.02\)"))
    ).to_be_visible()
    expect(amount).to_have_value("0.03")
    mentor.shot("offer-stale")
    mentor.page.get_by_role("button", name="Sign the standing offer").click()
    expect(mentor.page.get_by_text("Signed: learners pay 0.03 ETH per session.")).to_be_visible()
    for p in (mentor, learner):
        p.context.close()


def _confirmed_session(base: str, stack: Stack, starts_at: int) -> tuple[str, int]:
    """The learner books the mentor's "Python sessions" at `starts_at`, pays and the mentor accepts, all
    through the API and the chain (the browser tests what follows): the booking and engagement ids."""
    learner = {"Authorization": "Bearer " + _sign_in_token(base, LEARNER)}
    mentor = {"Authorization": "Bearer " + _sign_in_token(base, MENTOR)}
    listings = httpx.get(f"{base}/listings", params={"owner": MENTOR.address, "limit": 50}).json()["data"]
    listing = next(x["id"] for x in listings if x["title"] == "Python sessions")
    made = httpx.post(
        f"{base}/bookings", headers=learner, json={"listing_id": listing, "starts_at": starts_at}
    )
    assert made.status_code == 201, made.text
    booking = made.json()["booking"]["id"]
    stack.send(LEARNER, made.json()["tx"])
    seen = _until(lambda: httpx.get(f"{base}/bookings/{booking}", headers=learner).json(), "requested")
    accept = httpx.post(f"{base}/engagements/{seen['engagement_id']}/accept", headers=mentor)
    stack.send(MENTOR, accept.json())
    _until(lambda: httpx.get(f"{base}/bookings/{booking}", headers=learner).json(), "confirmed")
    return booking, int(seen["engagement_id"])


def _until(read: Any, state: str) -> Any:
    """Polls a booking until the indexer has it in `state` (the served indexer follows the chain)."""
    for _ in range(100):
        got = read()
        if got["state"] == state:
            return got
        time.sleep(0.1)
    raise AssertionError(f"the booking stayed {got['state']!r}, never {state!r}")


def test_a_session_is_moved_by_one_side_and_accepted_by_the_other_then_cancelled(
    served: tuple[str, Stack], browser: Browser
) -> None:
    """On "My sessions": the learner proposes another free time, the mentor accepts it (the booking
    moves); the learner cancels inside the free period, which asks the mentor, who refunds on-chain."""
    base, stack = served
    start = (int(time.time()) // 3600 + 5 * 24 + 3) * 3600
    booking, engagement = _confirmed_session(base, stack, start)
    learner = person(browser, base, stack, "move-learner", LEARNER)
    mentor = person(browser, base, stack, "move-mentor", MENTOR)
    learner.go(f"/engagements/{engagement}")
    learner.sign_in()
    # The engagement of a booked session leads to its room (which opens 10 minutes before).
    room = learner.page.get_by_role("link", name="Open the session room")
    expect(room).to_have_attribute("href", f"#/room/{booking}")
    expect(learner.page.get_by_text("the room opens 10 minutes before")).to_be_visible()
    learner.go("/sessions")
    card = learner.page.get_by_role("listitem").filter(
        has=learner.page.get_by_role("link", name=f"Engagement #{engagement}")
    )
    expect(card).to_contain_text("Free cancellation until")
    card.get_by_role("button", name="Propose a new time").click()
    choices = card.get_by_role("group", name="Pick a new time")
    expect(choices).to_contain_text("on-chain due date")
    learner.shot("pick-new-time")
    # The latest time offered (about a day and a half on): still inside the free cancellation period.
    choices.get_by_role("button", name=re.compile("^Propose ")).last.click()
    expect(learner.status()).to_contain_text("the other side is asked to accept")
    expect(card).to_contain_text("waiting for the other side")
    mentor.go("/sessions")
    mentor.sign_in()
    mine = mentor.page.get_by_role("listitem").filter(
        has=mentor.page.get_by_role("link", name=f"Engagement #{engagement}")
    )
    expect(mine).to_contain_text("The other side proposes")
    mentor.shot("proposed-time")
    mine.get_by_role("button", name="Accept the new time").click()
    expect(mentor.status()).to_contain_text("The session moved to the new time")
    headers = {"Authorization": "Bearer " + _sign_in_token(base, LEARNER)}
    moved = httpx.get(f"{base}/bookings/{booking}", headers=headers).json()
    assert moved["starts_at"] != start and moved["sequence"] == 1 and moved["state"] == "confirmed"
    # The learner cancels in time: the mentor is asked to refund, and does, on-chain.
    learner.page.reload()
    card.get_by_role("button", name="Cancel session").click()
    expect(card).to_contain_text("the mentor is asked to refund you in full")
    card.get_by_role("button", name="Yes, Cancel session").click()
    expect(learner.status()).to_contain_text("You cancelled in time")
    mentor.page.reload()
    expect(mine).to_contain_text("The learner cancelled in the free period")
    mentor.shot("learner-cancelled")
    mine.get_by_role("button", name="Cancel session").click()
    expect(mine).to_contain_text("refunds the learner in full")
    mine.get_by_role("button", name="Yes, Cancel session").click()
    expect(mentor.status()).to_contain_text("a full refund to the payer")
    expect(mine.get_by_text("cancelled", exact=True)).to_be_visible()  # its state, once indexed
    _until(lambda: httpx.get(f"{base}/bookings/{booking}", headers=headers).json(), "cancelled")
    for p in (learner, mentor):
        p.context.close()


def test_a_mentor_makes_a_custom_offer_the_learner_funds(served: tuple[str, Stack], browser: Browser) -> None:
    """On "Offers": the mentor prices two milestones in USD and signs; the learner sees each milestone's
    price and what the wallet pays, funds it, and the engagement is there, accepted."""
    from datetime import date, timedelta

    base, stack = served
    mentor = person(browser, base, stack, "custom-mentor", MENTOR)
    learner = person(browser, base, stack, "custom-learner", LEARNER)
    mentor.go("/offers")
    mentor.sign_in()
    form = mentor.page.get_by_role("region", name="Make an offer to a learner")
    form.get_by_label("Learner's wallet address").fill(LEARNER.address)
    form.get_by_label("Title").fill("Audit walkthrough")
    form.get_by_label("Skill").select_option("solidity")
    form.get_by_label("Priced in").select_option("USD")
    form.get_by_label("Paid in").select_option("ETH")
    form.get_by_label("What is delivered").fill("Reading the escrow together")
    form.get_by_label("Price (USD)").fill("50")
    form.get_by_label("Due date").fill((date.today() + timedelta(days=10)).isoformat())
    form.get_by_role("button", name="Add a milestone").click()
    form.get_by_label("What is delivered").nth(1).fill("Written findings")
    form.get_by_label("Price (USD)").nth(1).fill("25")
    form.get_by_label("Due date").nth(1).fill((date.today() + timedelta(days=20)).isoformat())
    mentor.shot("offer-form")
    form.get_by_role("button", name="Create and sign").click()
    expect(mentor.status()).to_contain_text("The offer is signed and the learner is told")
    made = (
        mentor.page.get_by_role("region", name="Offers you made")
        .get_by_role("listitem")
        .filter(has_text="Audit walkthrough")
    )
    expect(made.first).to_contain_text("waiting for the learner to fund it")
    learner.go("/offers")
    learner.sign_in()
    offer = (
        learner.page.get_by_role("region", name="Offers for you")
        .get_by_role("listitem")
        .filter(has_text="Audit walkthrough")
        .first
    )
    expect(offer).to_contain_text("$50.00")
    expect(offer).to_contain_text("0.02 ETH")  # 50 USD at the mock 2,500 USD per ETH
    learner.shot("offer-received")
    offer.get_by_role("button", name="Fund this offer").click()
    expect(offer).to_contain_text("all 2 milestones into escrow")
    offer.get_by_role("button", name="Yes, Fund this offer").click()
    expect(offer).to_contain_text("funded")
    link = offer.get_by_role("link", name=re.compile(r"^Engagement #\d+$"))
    expect(link).to_be_visible()
    link.click()
    expect(learner.page.get_by_role("heading", name=re.compile("Audit walkthrough"))).to_be_visible()
    for p in (mentor, learner):
        p.context.close()


# A real 1×1 PNG (Chromium draws it), for the picture upload.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cf"
    "c0f01f0005000201ffa65d7a1f0000000049454e44ae426082"
)


def test_a_mentor_uploads_a_picture_that_their_cards_show(
    served: tuple[str, Stack], browser: Browser
) -> None:
    base, stack = served
    mentor = person(browser, base, stack, "picture-mentor", MENTOR)
    mentor.go(f"/users/{MENTOR.address}")
    mentor.sign_in()
    # The profile's calendar at a glance: weekly hours in the mentor's zone, the next free time per listing.
    hours = mentor.page.get_by_role("region", name="Weekly hours")
    expect(hours).to_contain_text("In the mentor's time zone, Europe/Berlin.")
    expect(hours.get_by_role("link", name=re.compile("^Python sessions: next free "))).to_be_visible()
    mentor.page.get_by_label(re.compile("^Your picture")).set_input_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": TINY_PNG}]
    )
    expect(mentor.status()).to_contain_text("Your picture is saved.")
    head = mentor.page.get_by_role("img", name="Picture of Maya the mentor")
    expect(head).to_have_attribute("src", re.compile(rf"^/users/{MENTOR.address}/avatar\?v=\d+$"))
    mentor.shot("picture")
    listings = httpx.get(f"{base}/listings", params={"owner": MENTOR.address}).json()["data"]
    assert all(x["owner_avatar"] and "/avatar?v=" in x["owner_avatar"] for x in listings)  # cards show it
    # An executable named .png is refused in words, and the picture stays.
    mentor.go(f"/users/{MENTOR.address}")
    mentor.page.get_by_label(re.compile("^Your picture")).set_input_files(
        files=[{"name": "evil.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00" + bytes(64)}]
    )
    expect(mentor.status()).to_contain_text("PNG, JPEG, GIF or WebP")
    expect(head).to_have_attribute("src", re.compile("/avatar\\?v="))
    mentor.context.close()


def test_a_mentor_writes_a_profile_and_publishes_pauses_and_resumes_a_listing(
    served: tuple[str, Stack], browser: Browser
) -> None:
    """The mentor desk, with no API call by hand: a profile learners see, then a listing that search
    shows, hides while paused (the desk still lists it) and shows again."""
    base, stack = served
    newcomer = anvil_account(4)
    mentor = person(browser, base, stack, "listing", newcomer)
    mentor.go("/mentor")
    mentor.sign_in()
    expect(mentor.page.get_by_text("You have no profile yet")).to_be_visible()
    mentor.page.get_by_label("Your name as learners see it").fill("Priya the Rust mentor")
    mentor.page.get_by_label("About you").fill("Ten years of systems programming.")
    mentor.page.get_by_label("Skills you teach").select_option(["rust"])
    mentor.page.get_by_role("group", name="Languages you speak").get_by_label("Hindi").check()
    mentor.page.get_by_role("button", name="Save my profile").click()
    expect(mentor.status()).to_contain_text("Your profile is saved.")
    profile = httpx.get(f"{base}/users/{newcomer.address}").json()["profile"]
    assert profile["display_name"] == "Priya the Rust mentor" and profile["skills"] == ["rust"]
    assert set(profile["languages"]) == {"en", "hi"}

    expect(mentor.page.get_by_text("No listings yet")).to_be_visible()
    form = mentor.page.get_by_role("form", name="Publish a listing")
    form.get_by_label("Skill").select_option("rust")
    form.get_by_label("Title").fill("Ownership without tears")
    form.get_by_label("Description").fill("Borrowing, lifetimes and traits, by pairing on your code.")
    form.get_by_label("Price (per session").fill("forty")
    form.get_by_role("button", name="Publish the listing").click()
    expect(mentor.status()).to_contain_text("Enter the price as a number")  # in words, nothing sent
    form.get_by_label("Price (per session").fill("40")
    form.get_by_label("Currency").select_option("EUR")
    form.get_by_label("Length of a session").select_option("45")
    mentor.shot("new-listing")
    form.get_by_role("button", name="Publish the listing").click()
    expect(mentor.status()).to_contain_text("“Ownership without tears” is published.")

    def searched() -> list[str]:
        found = httpx.get(f"{base}/listings", params={"owner": newcomer.address}).json()["data"]
        return [item["title"] for item in found]

    [listing] = httpx.get(f"{base}/listings", params={"owner": newcomer.address}).json()["data"]
    assert (listing["price"], listing["currency"], listing["session"]["duration_minutes"]) == (
        "40.00",
        "EUR",
        45,
    )
    mentor.page.get_by_role("button", name="Pause “Ownership without tears”").click()
    expect(mentor.status()).to_contain_text("is paused")
    assert searched() == []
    desk = mentor.page.get_by_role("list", name="Your listings")
    expect(desk).to_contain_text("Paused")  # still on the desk, to resume
    mentor.page.get_by_role("button", name="Publish “Ownership without tears” again").click()
    expect(mentor.status()).to_contain_text("is published again")
    assert searched() == ["Ownership without tears"]
    mentor.go(f"/users/{newcomer.address}")
    expect(mentor.page.get_by_role("heading", name="Priya the Rust mentor")).to_be_visible()
    expect(mentor.page.get_by_role("list", name="Skills")).to_contain_text("Rust")
    # Found by a price range (minimum and maximum), and not outside it.
    mentor.go("/")
    filters = mentor.page.get_by_role("form", name="Search filters")
    filters.get_by_label("Skill").select_option("rust")
    filters.get_by_label("Minimum price").fill("39")
    filters.get_by_label("Maximum price").fill("41")
    filters.get_by_role("button", name="Search").click()
    results = mentor.page.get_by_role("region", name="Listings")
    expect(results).to_contain_text("Ownership without tears")
    expect(results).to_contain_text("Priya the Rust mentor")
    filters.get_by_label("Minimum price").fill("41")
    filters.get_by_role("button", name="Search").click()
    expect(results).not_to_contain_text("Ownership without tears")
    # Near my time zone: the listing was published from this browser's zone, so it is near.
    filters.get_by_label("Minimum price").fill("")
    filters.get_by_label("Within 3 hours of my time zone").check()
    filters.get_by_role("button", name="Search").click()
    expect(results).to_contain_text("Ownership without tears")
    mentor.context.close()


def test_a_mentor_publishes_weekly_hours(served: tuple[str, Stack], browser: Browser) -> None:
    base, stack = served
    newcomer = anvil_account(7)
    mentor = person(browser, base, stack, "hours", newcomer, timezone="Asia/Kolkata")
    mentor.go("/mentor")
    mentor.sign_in()
    expect(mentor.page.get_by_role("heading", name="Your weekly hours")).to_be_visible()
    # The browser's own zone (Chromium's ICU names Kolkata by its older alias, Calcutta).
    expect(mentor.page.get_by_label("Your time zone")).to_have_value(re.compile("^Asia/(Kolkata|Calcutta)$"))
    saturday = mentor.page.get_by_role("group", name="Saturday")
    saturday.get_by_label("Available").check()
    saturday.get_by_label("From").fill("10:00")
    saturday.get_by_label("Until").fill("12:30")
    mentor.page.get_by_label("Most sessions per day").fill("3")
    mentor.page.get_by_label("A day off").fill("2026-12-25")
    mentor.page.get_by_role("button", name="Add the day off").click()
    mentor.shot("hours")
    mentor.page.get_by_role("button", name="Save my hours").click()
    expect(mentor.status()).to_contain_text("Your hours are published")
    published = httpx.get(f"{base}/users/{newcomer.address}/availability").json()
    assert published["timezone"] in ("Asia/Kolkata", "Asia/Calcutta") and published["daily_cap"] == 3
    assert {"weekday": 5, "start": "10:00", "end": "12:30"} in published["rules"]
    assert {"weekday": 0, "start": "09:00", "end": "17:00"} in published["rules"]  # weekdays by default
    assert {"date": "2026-12-25", "kind": "off", "start": None, "end": None} in published["exceptions"]
    # The private calendar feed: created, fetched as iCalendar, revoked.
    mentor.page.get_by_role("button", name="Create my calendar feed").click()
    feed = mentor.page.get_by_text(re.compile(r"/calendar/[A-Za-z0-9_-]+\.ics$"))
    expect(feed).to_be_visible()
    url = feed.inner_text().strip()
    path = url[url.index("/calendar/") :]
    got = httpx.get(base + path)
    assert got.status_code == 200 and got.text.startswith("BEGIN:VCALENDAR")
    mentor.page.get_by_role("button", name="Revoke the feed").click()
    expect(mentor.status()).to_contain_text("The calendar feed is revoked.")
    assert httpx.get(base + path).status_code == 404
    mentor.context.close()


def test_notifications_by_e_mail_are_added_confirmed_and_removed(
    served: tuple[str, Stack], browser: Browser, inbox: Inbox
) -> None:
    base, stack = served
    reader = person(browser, base, stack, "email", anvil_account(6))
    reader.go("/notifications")
    reader.sign_in()
    reader.page.get_by_label("E-mail me these notifications at").fill("not an address")
    reader.page.get_by_role("button", name="Send the confirmation link").click()
    assert inbox.to("not an address") == []  # the browser's own check stops it
    reader.page.get_by_label("E-mail me these notifications at").fill("grace@example.org")
    reader.page.get_by_role("button", name="Send the confirmation link").click()
    expect(reader.page.get_by_text("We mailed a link to grace@example.org")).to_be_visible()
    expect(reader.page.get_by_test_id("email-status")).to_contain_text("Waiting for you to follow the link")
    [mail] = inbox.to("grace@example.org")
    confirmed = httpx.post(f"{base}/email/confirm", data={"token": link_token(mail, "/email/confirm")})
    assert confirmed.status_code == 200
    reader.page.reload()
    expect(reader.page.get_by_test_id("email-status")).to_contain_text(
        "Notifications are mailed to grace@example.org"
    )
    reader.shot("email")
    reader.page.get_by_role("button", name="Remove the address").click()
    expect(reader.page.get_by_label("E-mail me these notifications at")).to_be_visible()
    reader.context.close()


def test_no_wallet_is_explained_and_public_pages_work(served: tuple[str, Stack], browser: Browser) -> None:
    base, stack = served
    visitor = person(browser, base, stack, "visitor", None)
    visitor.go("/")
    visitor.page.get_by_role("button", name="Connect wallet").click()  # threw "reading 'request'" before
    expect(visitor.page.get_by_role("alert")).to_contain_text("No wallet found in this browser.")
    visitor.go("/engagements")
    expect(visitor.page.get_by_text("connect a wallet and sign in")).to_be_visible()
    visitor.shot("no-wallet")
    visitor.context.close()


def test_an_expired_session_says_so(served: tuple[str, Stack], browser: Browser) -> None:
    base, stack = served
    learner = person(browser, base, stack, "expired", LEARNER)
    learner.go("/")
    learner.sign_in()
    learner.page.evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('sc-session')); s.token = 'expired-token';"
        " sessionStorage.setItem('sc-session', JSON.stringify(s)); }"
    )
    learner.go("/engagements")
    learner.page.reload()
    expect(learner.page.get_by_role("alert")).to_contain_text("Your session has expired")
    expect(learner.page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    learner.context.close()


def test_the_api_going_down_mid_flow_is_said_and_recovers(
    served: tuple[str, Stack], browser: Browser
) -> None:
    base, stack = served
    learner = person(browser, base, stack, "offline", LEARNER)
    learner.go("/")
    learner.sign_in()
    learner.page.get_by_role("link", name="Book Solidity mentoring").first.click()
    learner.page.get_by_label("Amount (ETH)").fill("0.002")
    learner.page.route("**/engagements/prepare", lambda r: r.abort("connectionrefused"))
    learner.page.get_by_role("button", name="Fund with my wallet").click()
    expect(learner.status()).to_contain_text("The service cannot be reached right now")
    expect(learner.page.get_by_label("Amount (ETH)")).to_have_value("0.002")  # nothing typed is lost
    learner.page.unroute("**/engagements/prepare")
    learner.page.get_by_role("button", name="Fund with my wallet").click()
    expect(learner.page.get_by_role("heading", name="My engagements")).to_be_visible()
    learner.context.close()


PAGES = [
    "/",
    "/verify",
    "/engagements",
    "/earnings",
    "/credentials",
    "/mentor",
    "/issuer",
    "/arbiter",
    "/sessions",
    "/offers",
    "/messages",
    "/notifications",
    "/nowhere",
]
LOADING = re.compile("^(Loading…|Cargando…|लोड हो रहा है…)$")
KEY = re.compile(
    r"\b(nav|common|wallet|signin|tx|errors|amount|status|milestone|find|book|session|sessions|offers|booking|engagements?|review|earnings|credentials|issuer|arbiter|verify|profile|notFound|desk|mentor|messages|room|evidence|notifications)\.[a-zA-Z.]+\b"
)


@pytest.mark.parametrize(
    "language,heading", [("en", "Find a mentor"), ("es", "Buscar mentor"), ("hi", "मेंटर खोजें")]
)
def test_every_page_in_each_language_is_accessible(
    served: tuple[str, Stack], browser: Browser, language: str, heading: str
) -> None:
    """Every page renders in English, Spanish and Hindi with no missing key, has a title, passes
    axe-core at desktop and phone width, and needs no sideways scrolling at 390 px."""
    base, stack = served
    reader = person(browser, base, stack, f"axe-{language}", ARBITER)
    reader.go("/")
    reader.sign_in()  # signed in, the wallet pages show their forms, lists and editors (audited too)
    reader.page.get_by_label(re.compile("^(Site language|Idioma del sitio|साइट की भाषा)$")).select_option(
        language
    )
    expect(reader.page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    listings = httpx.get(f"{base}/listings", params={"owner": MENTOR.address, "limit": 50}).json()["data"]
    session_listing = next(x["id"] for x in listings if x["session"])
    problems: list[str] = []
    for route in [*PAGES, f"/users/{MENTOR.address}", f"/book/{session_listing}"]:
        reader.go(route)
        reader.page.get_by_role("heading", level=1).wait_for()
        # Signed in, the live stream keeps a request open (never "network idle"): wait until nothing
        # says it is loading any more.
        expect(reader.page.get_by_role("status").filter(has_text=LOADING)).to_have_count(0)
        reader.page.wait_for_timeout(300)
        text = reader.page.locator("body").inner_text()
        if missing := KEY.findall(text):
            problems.append(f"{route}: untranslated keys {missing}")
        if not reader.page.title().endswith("· Skillchain"):
            problems.append(f"{route}: page title {reader.page.title()!r}")
        for label, size in WIDTHS.items():
            reader.page.set_viewport_size(size)
            for v in axe(reader.page):
                problems.append(f"{route} {label}: {v['id']} ({v['help']}) at {v['nodes']}")
            if label == "phone" and reader.page.evaluate(
                "document.documentElement.scrollWidth > window.innerWidth"
            ):
                wide = reader.page.evaluate(
                    "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
                    " > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' '"
                    " + Math.round(e.getBoundingClientRect().right))"
                )
                problems.append(f"{route}: scrolls sideways at 390 px ({wide})")
        reader.page.set_viewport_size(WIDTHS["desktop"])
    assert not problems, "\n".join(problems)
    reader.context.close()


def test_keyboard_alone_reaches_booking(served: tuple[str, Stack], browser: Browser) -> None:
    """The skip link comes first; every control is reachable with Tab and works with Enter."""
    base, stack = served
    visitor = person(browser, base, stack, "keyboard", None)
    visitor.go("/")
    expect(visitor.page.get_by_role("heading", name="Find a mentor", level=1)).to_be_visible()
    visitor.page.keyboard.press("Tab")
    expect(visitor.page.get_by_role("link", name="Skip to content")).to_be_focused()
    visitor.page.keyboard.press("Enter")
    expect(visitor.page.get_by_role("main")).to_be_focused()
    target = visitor.page.get_by_role("link", name="Book Solidity mentoring").first
    for _ in range(40):
        visitor.page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    expect(target).to_be_focused()
    visitor.page.keyboard.press("Enter")
    expect(visitor.page.get_by_role("heading", name="Book: Solidity mentoring")).to_be_visible()
    visitor.context.close()


def _tab_to(page: Any, target: Any, limit: int = 80) -> None:
    """Press Tab until `target` has the focus (and fail if it never does)."""
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(target).to_be_focused()


def test_keyboard_alone_signs_in_and_funds_a_booking(served: tuple[str, Stack], browser: Browser) -> None:
    """The main flow's first half with no mouse: connect, sign in, open a listing, type the amount,
    fund — each control reached with Tab and used with Enter or typing."""
    base, stack = served
    learner = person(browser, base, stack, "keyboard-funds", anvil_account(3))
    page = learner.page
    learner.go("/")
    expect(page.get_by_role("heading", name="Find a mentor", level=1)).to_be_visible()
    connect = page.get_by_role("button", name="Connect wallet")
    sign_in = page.get_by_role("button", name="Sign in", exact=True)
    expect(connect.or_(sign_in)).to_be_visible()
    if connect.is_visible():
        _tab_to(page, connect)
        page.keyboard.press("Enter")
    _tab_to(page, sign_in)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    book = page.get_by_role("link", name="Book Solidity mentoring").first
    _tab_to(page, book)
    page.keyboard.press("Enter")
    amount = page.get_by_label("Amount (ETH)")
    _tab_to(page, amount)
    page.keyboard.type("0.01")
    expect(page.get_by_label("Quote")).to_contain_text("0.00975 ETH")
    fund = page.get_by_role("button", name="Fund with my wallet")
    _tab_to(page, fund)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My engagements")).to_be_visible()
    learner.context.close()


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
    sig = _hex(Account.sign_message(encode_defunct(text=text), account.key).signature)
    return str(httpx.post(f"{base}/auth/verify", json={"message": text, "signature": sig}).json()["token"])
