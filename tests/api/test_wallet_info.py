"""What the dApp reads before a wallet acts: the chain (to add or switch to it), the tokens with
their decimals, the fee; what the escrow owes the signed-in wallet; and the dApp itself, served
with an uncached index and content-hashed, immutable assets."""

from __future__ import annotations

import re
import time

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

CLIENT, PROVIDER = anvil_account(1), anvil_account(2)
ETH = "0x0000000000000000000000000000000000000000"


def test_chain_info_names_the_chain_tokens_and_fee(stack: Stack) -> None:
    info = stack.client.get("/chain").json()
    assert info["chain_id"] == 31337 and info["name"] == "Local chain (anvil)"
    assert info["rpc_url"] == stack.chain.url.rstrip("/")
    assert info["fee_bps"] == 250
    symbols = {t["symbol"]: t for t in info["tokens"]}
    assert symbols["ETH"] == {"address": ETH, "symbol": "ETH", "decimals": 18}
    assert symbols["tUSD"]["decimals"] == 6  # read from the token, not assumed
    assert symbols["tUSD"]["address"] == stack.record.address_of("TestStablecoin")
    assert info["contracts"]["SkillEscrow"] == stack.record.address_of("SkillEscrow")


def _earn(stack: Stack, amount: int, title: str) -> None:
    """The client pays the provider `amount` wei through an engagement of one approved milestone."""
    c = stack.client
    client, provider = stack.sign_in(CLIENT), stack.sign_in(PROVIDER)
    prepared = c.post(
        "/engagements/prepare",
        headers=client,
        json={
            "provider": PROVIDER.address,
            "title": title,
            "skill": "python",
            "milestones": [{"title": "m", "amount": str(amount), "due_date": int(time.time()) + 86400}],
        },
    ).json()
    stack.send(CLIENT, prepared["tx"])
    stack.index()
    eid = c.get("/me/engagements", headers=client).json()["data"][0]["id"]
    stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=provider).json())
    stack.send(CLIENT, c.post(f"/engagements/{eid}/milestones/0/approve", headers=client).json())
    stack.index()


def test_balances_follow_what_the_escrow_owes(stack: Stack) -> None:
    c = stack.client
    provider = stack.sign_in(PROVIDER)
    assert c.get("/me/balances").status_code == 401
    before = c.get("/me/balances", headers=provider).json()
    owed_before = sum(int(b["amount"]) for b in before["data"] if b["token"]["symbol"] == "ETH")
    _earn(stack, 10**15, "Balances")
    after = c.get("/me/balances", headers=provider).json()
    [eth] = [b for b in after["data"] if b["token"]["symbol"] == "ETH"]
    assert int(eth["amount"]) - owed_before == 10**15 - 10**15 * 250 // 10_000  # less the fee
    assert after["next_cursor"] is None and after["total"] == len(after["data"])
    stack.send(PROVIDER, c.post("/withdraw", headers=provider, json={"token": "ETH"}).json())
    stack.index()
    assert all(b["token"]["symbol"] != "ETH" for b in c.get("/me/balances", headers=provider).json()["data"])


def test_withdrawals_are_listed_newest_first_with_where_they_went(stack: Stack) -> None:
    c = stack.client
    provider, elsewhere = stack.sign_in(PROVIDER), anvil_account(5)
    assert c.get("/me/withdrawals").status_code == 401
    seen = len(c.get("/me/withdrawals", headers=provider).json()["data"])
    for amount, to in ((2 * 10**15, None), (3 * 10**15, elsewhere.address)):
        _earn(stack, amount, "History")
        owed = next(
            int(b["amount"])
            for b in c.get("/me/balances", headers=provider).json()["data"]
            if b["token"]["symbol"] == "ETH"
        )
        body = {"token": "ETH"} | ({"to": to} if to else {})
        stack.send(PROVIDER, c.post("/withdraw", headers=provider, json=body).json())
        stack.index()
        latest = c.get("/me/withdrawals", headers=provider, params={"limit": 1}).json()
        [row] = latest["data"]
        assert row["token"]["symbol"] == "ETH" and int(row["amount"]) == owed
        assert row["to"] == (to or PROVIDER.address) and row["tx_hash"].startswith("0x")
    first = c.get("/me/withdrawals", headers=provider, params={"limit": 1}).json()
    second = c.get(
        "/me/withdrawals", headers=provider, params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert first["data"][0]["to"] == elsewhere.address and second["data"][0]["to"] == PROVIDER.address
    assert first["data"][0]["block_number"] > second["data"][0]["block_number"]
    every = c.get("/me/withdrawals", headers=provider, params={"limit": 100}).json()["data"]
    assert len(every) == seen + 2
    # The history is the withdrawing wallet's: the address it sent funds to has none of its own.
    assert c.get("/me/withdrawals", headers=stack.sign_in(elsewhere)).json()["data"] == []


def test_the_dapp_is_served_with_hashed_immutable_assets(stack: Stack) -> None:
    index = stack.client.get("/")
    assert index.status_code == 200 and index.headers["cache-control"] == "no-cache"
    assert "Content-Security-Policy" in index.headers
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', index.text)
    assert scripts and all(re.search(r"-[A-Za-z0-9_-]{8}\.js$", s) for s in scripts)
    asset = stack.client.get(scripts[0])
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert "cdn" not in index.text.lower() and "https://" not in index.text  # nothing from elsewhere
