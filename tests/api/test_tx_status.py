"""GET /tx/{hash}: unknown, mined but not indexed, indexed with what it changed, reverted with the
contract's reason in words; `wait` returns as soon as the indexer commits it."""

from __future__ import annotations

import threading
import time
from typing import Any

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

LEARNER, MENTOR, STRANGER = (anvil_account(i) for i in (1, 2, 3))


def _prepare(stack: Stack) -> dict[str, Any]:
    return stack.client.post(  # type: ignore[no-any-return]
        "/engagements/prepare",
        headers=stack.sign_in(LEARNER),
        json={
            "provider": MENTOR.address,
            "title": "Tracked",
            "skill": "python",
            "milestones": [{"title": "m", "amount": "777", "due_date": int(time.time()) + 86400}],
        },
    ).json()


def test_a_transaction_goes_from_mined_to_indexed_with_what_it_changed(stack: Stack) -> None:
    c = stack.client
    assert c.get("/tx/0x" + "ab" * 32).json()["status"] == "unknown"
    assert c.get("/tx/0x1234").status_code == 422
    receipt = stack.send(LEARNER, _prepare(stack)["tx"])
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex().removeprefix("0x")  # type: ignore[arg-type]
    mined = c.get(f"/tx/{tx_hash}").json()
    assert mined["status"] == "mined" and mined["block_number"] == receipt["blockNumber"]
    stack.index()
    indexed = c.get(f"/tx/{tx_hash}").json()
    assert indexed["status"] == "indexed"
    names = [e["name"] for e in indexed["events"]]
    assert names == ["EngagementCreated"] and indexed["events"][0]["engagement_id"] >= 1


def test_wait_returns_when_the_indexer_commits(stack: Stack) -> None:
    receipt = stack.send(LEARNER, _prepare(stack)["tx"])
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex().removeprefix("0x")  # type: ignore[arg-type]
    answer: dict[str, Any] = {}

    def ask() -> None:
        started = time.monotonic()
        answer.update(stack.client.get(f"/tx/{tx_hash}", params={"wait": 20}).json())
        answer["took"] = time.monotonic() - started

    asker = threading.Thread(target=ask)
    asker.start()
    time.sleep(0.3)  # the request is waiting; the indexer has not run
    assert asker.is_alive()
    stack.index()
    asker.join(timeout=20)
    assert answer["status"] == "indexed" and answer["took"] < 20


def test_a_reverted_transaction_says_why(stack: Stack) -> None:
    escrow = stack.w3.eth.contract(
        address=stack.record.address_of("SkillEscrow"),
        abi=[
            {
                "type": "function",
                "name": "acceptEngagement",
                "inputs": [{"name": "id", "type": "uint256"}],
                "outputs": [],
                "stateMutability": "nonpayable",
            }
        ],
    )
    tx_hash = escrow.functions.acceptEngagement(999_999).transact({"from": STRANGER.address, "gas": 200_000})
    stack.w3.eth.wait_for_transaction_receipt(tx_hash)
    answer = stack.client.get(f"/tx/{tx_hash.to_0x_hex()}", params={"wait": 5}).json()
    assert answer["status"] == "reverted"
    assert answer["revert"]["contract"] == "SkillEscrow" and answer["revert"]["error"].startswith("Escrow")
