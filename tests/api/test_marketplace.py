"""The marketplace API end to end: profiles, listings, an engagement from prepared transactions signed
by real keys on anvil, the indexer's read model, reviews, disputes, privacy, readiness."""

from __future__ import annotations

import time

from eth_account import Account
from web3 import Web3

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

CLIENT, PROVIDER, STRANGER, ARBITER, ADMIN = (anvil_account(i) for i in (1, 2, 3, 9, 0))


def test_health_ready_metrics_and_openapi(stack: Stack) -> None:
    c = stack.client
    assert c.get("/health").status_code == 200
    ready = c.get("/ready").json()
    assert ready["ready"] and ready["missing"] == []
    assert "skillchain" in c.get("/metrics").text or c.get("/metrics").status_code == 200
    assert "/engagements/prepare" in c.get("/openapi.json").json()["paths"]


def test_profiles_and_public_user(stack: Stack) -> None:
    c = stack.client
    auth = stack.sign_in(PROVIDER)
    assert c.get("/me/profile", headers=auth).status_code == 404
    body = {
        "display_name": "Ada",
        "bio": "Solidity mentor",
        "skills": ["solidity", "rust"],
        "hourly_rate": "80.00",
        "languages": ["en", "fr"],
        "timezone": "Europe/Paris",
    }
    put = c.put("/me/profile", json=body, headers=auth)
    assert put.status_code == 200 and put.json()["skills"] == ["solidity", "rust"]
    assert c.put("/me/profile", json=body | {"skills": ["basket-weaving"]}, headers=auth).status_code == 400
    assert c.put("/me/profile", json=body | {"role": "admin"}, headers=auth).status_code == 422
    assert c.put("/me/profile", json=body).status_code == 401
    user = c.get(f"/users/{PROVIDER.address.lower()}").json()  # any case in, checksummed out
    assert user["address"] == PROVIDER.address and user["profile"]["display_name"] == "Ada"
    assert c.get("/users/0x1234").status_code == 422


def test_skills_catalog_ids_are_keccak_of_slug(stack: Stack) -> None:
    from eth_hash.auto import keccak

    skills = {s["slug"]: s for s in stack.client.get("/skills").json()}
    assert skills["solidity"]["id"] == "0x" + keccak(b"solidity").hex()


def test_listings_crud_search_and_ownership(stack: Stack) -> None:
    c = stack.client
    owner, other = stack.sign_in(PROVIDER), stack.sign_in(STRANGER)
    created = c.post(
        "/listings",
        headers=owner,
        json={
            "kind": "offer",
            "skill": "solidity",
            "title": "Audit-ready Solidity",
            "description": "Pair on your contracts",
            "price": "90",
            "languages": ["en"],
            "timezone": "Europe/Paris",
        },
    )
    assert created.status_code == 201
    lid = created.json()["id"]
    c.post(
        "/listings",
        headers=other,
        json={
            "kind": "request",
            "skill": "rust",
            "title": "Learn Rust",
            "description": "beginner",
            "price": "20",
            "languages": ["de"],
        },
    )
    c.put("/me/profile", headers=owner, json={"display_name": "Ada", "bio": "", "skills": ["solidity"]})
    found = c.get("/listings", params={"skill": "solidity", "max_price": 100, "language": "en"}).json()
    assert [item["id"] for item in found["data"]] == [lid]
    [card] = found[
        "data"
    ]  # what a mentor card shows: the owner's name, and how many reviews the rating averages
    assert card["owner_name"] == "Ada" and card["owner_rating_count"] == 0
    assert c.get("/listings", params={"q": "audit"}).json()["total"] == 1
    assert c.get("/listings", params={"min_price": 95, "skill": "solidity"}).json()["total"] == 0
    assert c.get("/listings", params={"limit": 101}).status_code == 422
    # Near a time zone: Paris is within 3 hours of Berlin, not of Los Angeles (offsets compared now).
    near = {"skill": "solidity", "near_timezone": "Europe/Berlin"}
    assert [item["id"] for item in c.get("/listings", params=near).json()["data"]] == [lid]
    far = {"skill": "solidity", "near_timezone": "America/Los_Angeles"}
    assert c.get("/listings", params=far).json()["data"] == []
    assert c.get("/listings", params=far | {"within_hours": 12}).json()["total"] == 1
    unknown = c.get("/listings", params={"near_timezone": "Mars/Olympus"})
    assert unknown.status_code == 422 and "IANA" in unknown.json()["detail"]
    assert c.patch(f"/listings/{lid}", headers=other, json={"price": "1"}).status_code == 403
    assert c.patch(f"/listings/{lid}", headers=owner, json={"owner": STRANGER.address}).status_code == 422
    assert c.patch(f"/listings/{lid}", headers=owner, json={"price": "85"}).json()["price"] == "85.00"
    # Paused: gone from search, still on its owner's desk (to resume), and only there.
    assert c.patch(f"/listings/{lid}", headers=owner, json={"active": False}).json()["active"] is False
    assert lid not in [
        item["id"] for item in c.get("/listings", params={"owner": PROVIDER.address}).json()["data"]
    ]
    desk = c.get("/me/listings", headers=owner).json()
    assert [(item["id"], item["active"]) for item in desk["data"]][:1] == [(lid, False)]
    assert lid not in [item["id"] for item in c.get("/me/listings", headers=other).json()["data"]]
    assert c.get("/me/listings").status_code == 401
    assert c.patch(f"/listings/{lid}", headers=owner, json={"active": True}).json()["active"] is True
    assert c.delete(f"/listings/{lid}", headers=other).status_code == 403
    assert c.delete(f"/listings/{lid}", headers=owner).status_code == 204
    assert c.get(f"/listings/{lid}").status_code == 404


def test_engagement_lifecycle_through_prepared_transactions(stack: Stack) -> None:
    c = stack.client
    client, provider = stack.sign_in(CLIENT), stack.sign_in(PROVIDER)
    due = int(time.time()) + 7 * 86400
    prepared = c.post(
        "/engagements/prepare",
        headers=client,
        json={
            "provider": PROVIDER.address,
            "title": "Solidity mentoring",
            "skill": "solidity",
            "milestones": [
                {"title": "Week 1", "amount": str(10**17), "due_date": due},
                {"title": "Week 2", "amount": str(2 * 10**17), "due_date": due + 86400},
            ],
        },
    )
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    assert body["document_cid"].startswith("bafkrei") and int(body["tx"]["value"], 16) == 3 * 10**17
    assert stack.client.get(f"/ipfs/{body['document_cid']}").json()["title"] == "Solidity mentoring"
    stack.send(CLIENT, body["tx"])
    stack.index()
    mine = c.get("/me/engagements", headers=client).json()
    eid = mine["data"][0]["id"]
    e = c.get(f"/engagements/{eid}").json()
    assert e["client"] == CLIENT.address and e["status"] == "requested" and len(e["milestones"]) == 2
    assert e["terms_cid"] == body["document_cid"]  # the page reads the title from the terms
    assert not e["accepted"]
    # A request waits for the provider: only the provider accepts it.
    assert c.post(f"/engagements/{eid}/accept", headers=client).status_code == 403
    stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=provider).json())
    stack.index()
    e = c.get(f"/engagements/{eid}").json()
    assert e["status"] == "active" and e["accepted"]
    assert c.post(f"/engagements/{eid}/accept", headers=provider).status_code == 409
    assert c.post(f"/engagements/{eid}/withdraw-request", headers=client).status_code == 409

    # Only the provider prepares a submission, only the client an approval.
    assert (
        c.post(f"/engagements/{eid}/milestones/0/submit", headers=client, json={"summary": "x"}).status_code
        == 403
    )
    for i in (0, 1):
        sub = c.post(
            f"/engagements/{eid}/milestones/{i}/submit", headers=provider, json={"summary": f"done {i}"}
        )
        assert sub.status_code == 200
        stack.send(PROVIDER, sub.json()["tx"])
        stack.send(CLIENT, c.post(f"/engagements/{eid}/milestones/{i}/approve", headers=client).json())
    stack.index()
    settled = c.get(f"/engagements/{eid}").json()
    deliverable = settled["milestones"][1]["deliverable_cid"]
    assert c.get(f"/ipfs/{deliverable}").json()["summary"] == "done 1"
    assert settled["status"] == "settled" and [m["state"] for m in settled["milestones"]] == [
        "released",
        "released",
    ]

    # Doomed transactions are refused before the wallet sees them, with the contract's reason in words.
    again = c.post(f"/engagements/{eid}/milestones/0/approve", headers=client)
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["code"] == "transaction_would_revert" and problem["error"] == "EscrowInvalidMilestoneState"
    assert problem["fields"]["index"] == "0" and "not in a state that allows this" in problem["detail"]
    nothing = c.post("/withdraw", headers=client, json={"token": "ETH"})
    assert nothing.status_code == 409 and nothing.json()["error"] == "EscrowNothingToWithdraw"

    review = c.post(
        "/reviews/prepare", headers=client, json={"engagement_id": eid, "rating": 5, "comment": "superb"}
    )
    assert review.status_code == 200 and review.json()["tx"]["simulated"]
    stack.send(CLIENT, review.json()["tx"])
    stack.index()
    second = c.post(
        "/reviews/prepare", headers=client, json={"engagement_id": eid, "rating": 1, "comment": "x"}
    )
    assert second.status_code == 409 and second.json()["error"] == "ReputationAlreadyReviewed"
    # The provider sends what they earned to another address of theirs (withdrawTo).
    savings = "0x" + "5a" * 20
    before = stack.w3.eth.get_balance(Web3.to_checksum_address(savings))
    elsewhere = c.post(
        "/withdraw", headers=provider, json={"token": "ETH", "to": Web3.to_checksum_address(savings)}
    )
    assert elsewhere.status_code == 200, elsewhere.text
    assert elsewhere.json()["description"].lower().endswith("to " + savings)
    burn = c.post("/withdraw", headers=provider, json={"token": "ETH", "to": "0x" + "00" * 20})
    assert burn.status_code == 400 and "zero address" in burn.text
    stack.send(PROVIDER, elsewhere.json())
    stack.index()
    assert stack.w3.eth.get_balance(Web3.to_checksum_address(savings)) > before
    reviews = c.get(f"/users/{PROVIDER.address}/reviews").json()
    assert reviews["data"][0]["rating"] == 5 and reviews["onchain_average"] == 5.0
    assert reviews["data"][0]["comment"] == "superb"  # the text, read from IPFS and hash-checked
    user = c.get(f"/users/{PROVIDER.address}").json()
    assert user["reputation"]["as_provider_count"] == 1


def test_disputes_evidence_and_arbiter_queue(stack: Stack) -> None:
    c = stack.client
    client, provider, stranger, arbiter = (stack.sign_in(a) for a in (CLIENT, PROVIDER, STRANGER, ARBITER))
    due = int(time.time()) + 60
    prepared = c.post(
        "/engagements/prepare",
        headers=client,
        json={
            "provider": PROVIDER.address,
            "title": "Design review",
            "skill": "ui-design",
            "milestones": [{"title": "Mockups", "amount": "1000", "due_date": due}],
        },
    ).json()
    stack.send(CLIENT, prepared["tx"])
    stack.index()
    eid = c.get("/me/engagements", headers=client).json()["data"][0]["id"]
    stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=provider).json())
    stray = c.post(f"/engagements/{eid}/evidence", headers=client, json={"statement": "No dispute yet"})
    assert stray.status_code == 409 and "no open dispute" in stray.json()["detail"]
    early = c.post(f"/engagements/{eid}/dispute", headers=client, json={"statement": "Too early"})
    assert early.status_code == 409 and early.json()["error"] == "EscrowNothingToDispute"
    assert c.get(f"/engagements/{eid}/evidence", headers=client).json()["data"] == []  # nothing stored
    stack.warp(120)  # the milestone is overdue: now it can be disputed
    dispute = c.post(f"/engagements/{eid}/dispute", headers=client, json={"statement": "Nothing delivered"})
    assert dispute.status_code == 200
    stack.send(CLIENT, dispute.json()["tx"])
    stack.index()
    assert (
        c.post(
            f"/engagements/{eid}/evidence", headers=provider, json={"statement": "Sent by mail"}
        ).status_code
        == 201
    )
    assert c.get(f"/engagements/{eid}/evidence", headers=stranger).status_code == 403
    stack.index()
    assert c.get(f"/engagements/{eid}/evidence", headers=arbiter).json()["total"] == 2
    first = c.get(f"/engagements/{eid}/evidence", headers=arbiter, params={"limit": 1}).json()
    rest = c.get(
        f"/engagements/{eid}/evidence", headers=arbiter, params={"cursor": first["next_cursor"]}
    ).json()
    assert len(first["data"]) == 1 and len(rest["data"]) == 1 and rest["next_cursor"] is None
    assert rest["data"][0]["id"] > first["data"][0]["id"]
    queue = c.get("/arbiter/queue", headers=arbiter).json()
    assert [e["id"] for e in queue["data"]] == [eid]
    assert (
        c.post(f"/engagements/{eid}/resolve", headers=client, json={"provider_share_bps": 0}).status_code
        == 403
    )
    frozen = c.get(f"/engagements/{eid}").json()
    assert frozen["status"] == "disputed" and frozen["milestones"][0]["frozen"]
    resolve = c.post(f"/engagements/{eid}/resolve", headers=arbiter, json={"provider_share_bps": 2500})
    stack.send(ARBITER, resolve.json())
    stack.index()
    settled = c.get(f"/engagements/{eid}").json()
    assert settled["status"] == "settled"
    m = settled["milestones"][0]
    assert (m["state"], m["frozen"], m["provider_share_bps"]) == ("resolved", False, 2500)


def _request(stack: Stack, headers: dict[str, str], title: str) -> int:
    c = stack.client
    prepared = c.post(
        "/engagements/prepare",
        headers=headers,
        json={
            "provider": PROVIDER.address,
            "title": title,
            "skill": "python",
            "milestones": [{"title": "m", "amount": "777", "due_date": int(time.time()) + 86400}],
        },
    ).json()
    stack.send(CLIENT, prepared["tx"])
    stack.index()
    return int(c.get("/me/engagements", headers=headers).json()["data"][0]["id"])


def test_requests_are_withdrawn_by_the_client_or_declined_by_the_provider(stack: Stack) -> None:
    c = stack.client
    client, provider, stranger = (stack.sign_in(a) for a in (CLIENT, PROVIDER, STRANGER))
    withdrawn = _request(stack, client, "Withdrawn")
    assert c.post(f"/engagements/{withdrawn}/cancel", headers=client).status_code == 409  # not accepted yet
    assert c.post(f"/engagements/{withdrawn}/withdraw-request", headers=stranger).status_code == 403
    tx = c.post(f"/engagements/{withdrawn}/withdraw-request", headers=client)
    assert tx.status_code == 200 and "no fee" in tx.json()["description"]
    stack.send(CLIENT, tx.json())
    declined = _request(stack, client, "Declined")
    decline = c.post(f"/engagements/{declined}/cancel", headers=provider).json()
    assert decline["description"].startswith("Decline request")
    stack.send(PROVIDER, decline)
    stack.index()
    assert c.get(f"/engagements/{withdrawn}").json()["status"] == "withdrawn"
    assert c.get(f"/engagements/{declined}").json()["status"] == "declined"
    assert c.post(f"/engagements/{declined}/accept", headers=provider).status_code == 409
    review = c.post("/reviews/prepare", headers=client, json={"engagement_id": declined, "rating": 1})
    assert review.status_code == 409


def test_signed_session_offer_is_funded_by_a_learner_and_indexed_with_its_booking(stack: Stack) -> None:
    from eth_account.messages import encode_typed_data

    c = stack.client
    client, provider = stack.sign_in(CLIENT), stack.sign_in(PROVIDER)
    prepared = c.post(
        "/offers/prepare",
        headers=provider,
        json={
            "title": "One hour of Python",
            "skill": "python",
            "session": {"amount": str(10**16), "length": 3600, "min_notice": 600, "horizon": 30 * 86400},
            "uses": 5,
        },
    )
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    message = body["typed_data"]["message"]
    assert isinstance(message["nonce"], str) and message["provider"] == PROVIDER.address  # safe in JavaScript
    signable = encode_typed_data(full_message=body["typed_data"])
    signature = "0x" + Account.sign_message(signable, PROVIDER.key).signature.hex().removeprefix("0x")
    starts = int(time.time()) + 2 * 86400
    booking = "0x" + "ab" * 32
    fund = {
        "offer": body["offer"],
        "signature": signature,
        "starts_at": starts,
        "booking_ref": booking,
        "deadline": int(time.time()) + 600,
    }
    # A forged signature, a start inside the notice and the provider itself are refused in words.
    forged = "0x" + Account.sign_message(signable, STRANGER.key).signature.hex().removeprefix("0x")
    assert c.post("/offers/fund", headers=client, json=fund | {"signature": forged}).status_code == 400
    assert (
        c.post("/offers/fund", headers=client, json=fund | {"starts_at": int(time.time())}).status_code == 400
    )
    assert c.post("/offers/fund", headers=provider, json=fund).status_code == 400
    funding = c.post("/offers/fund", headers=client, json=fund)
    assert funding.status_code == 200, funding.text
    tx = funding.json()["tx"]
    assert int(tx["value"], 16) == 10**16 and tx["simulated"] and funding.json()["approval"] is None  # ETH
    stack.send(CLIENT, tx)
    stack.index()
    e = c.get("/me/engagements", headers=client).json()["data"][0]
    assert (e["status"], e["accepted"], e["booking_ref"], e["starts_at"]) == ("active", True, booking, starts)
    assert e["offer_nonce"] == message["nonce"]
    assert e["milestones"][0]["due_date"] == starts + 3600 + 7 * 86400


def test_bad_input_is_a_clear_4xx(stack: Stack) -> None:
    c = stack.client
    client = stack.sign_in(CLIENT)
    past = {
        "provider": PROVIDER.address,
        "title": "t",
        "skill": "solidity",
        "milestones": [{"title": "m", "amount": "1", "due_date": 1}],
    }
    assert c.post("/engagements/prepare", headers=client, json=past).status_code == 400
    assert (
        c.post("/engagements/prepare", headers=client, json=past | {"provider": CLIENT.address}).status_code
        == 400
    )
    assert c.get("/engagements/999999").status_code == 404
    assert c.get("/engagements/0").status_code == 422
    assert c.post("/listings", headers=client, content=b"{" * 10).json()["code"] == "invalid_json"  # 400


def test_admin_routes_only_for_configured_admins(stack: Stack) -> None:
    assert stack.client.get("/admin/stats", headers=stack.sign_in(STRANGER)).status_code == 403
    stats = stack.client.get("/admin/stats", headers=stack.sign_in(ADMIN))
    assert stats.status_code == 200 and stats.json()["engagements"] >= 1


def test_export_and_erase(stack: Stack) -> None:
    c = stack.client
    auth = stack.sign_in(STRANGER)
    c.put(
        "/me/profile", headers=auth, json={"display_name": "Temp", "bio": "", "skills": [], "languages": []}
    )
    exported = c.get("/me/export", headers=auth).json()
    assert exported["profile"]["display_name"] == "Temp" and "on_chain" in exported["retention_notes"]
    erased = c.request("DELETE", "/me", headers=auth).json()
    assert erased["erased"]["profile"] == 1 and "on_chain" in erased["kept"]
    assert c.get("/me/profile", headers=stack.sign_in(STRANGER)).status_code == 404


def test_a_wallet_cannot_make_the_server_store_documents_without_limit(stack: Stack) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    c = TestClient(create_app(stack.settings.model_copy(update={"document_quota": 2})))
    headers = stack.sign_in(CLIENT)
    body = {
        "provider": PROVIDER.address,
        "title": "Draft",
        "skill": "python",
        "milestones": [{"title": "m", "amount": "5", "due_date": int(time.time()) + 86400}],
    }
    codes = [c.post("/engagements/prepare", headers=headers, json=body).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other = stack.sign_in(STRANGER)  # per wallet: another one is not affected
    assert c.post("/engagements/prepare", headers=other, json=body).status_code == 200


def test_my_engagements_paginate_with_a_cursor_and_a_total(stack: Stack) -> None:
    c = stack.client
    headers = stack.sign_in(CLIENT)
    _request(stack, headers, "Page one")
    _request(stack, headers, "Page two")
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = c.get("/me/engagements", headers=headers, params=params).json()
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == page["total"] >= 2 and seen == sorted(set(seen), reverse=True)
    assert c.get("/me/engagements", headers=headers, params={"cursor": "x"}).status_code == 422


def test_a_token_payment_comes_with_its_approval_and_is_simulated_as_if_approved(stack: Stack) -> None:
    c = stack.client
    payer = anvil_account(5)  # holds the test stablecoin, has approved nothing
    learner = stack.sign_in(payer)
    usd = stack.record.address_of("TestStablecoin")
    body = {
        "provider": PROVIDER.address,
        "title": "Paid in tUSD",
        "skill": "solidity",
        "token": usd,
        "milestones": [{"title": "One", "amount": str(5 * 10**6), "due_date": int(time.time()) + 86400}],
    }
    prepared = c.post("/engagements/prepare", headers=learner, json=body)
    assert prepared.status_code == 200, prepared.text
    approval, tx = prepared.json()["approval"], prepared.json()["tx"]
    assert approval is not None and approval["to"] == usd and approval["simulated"]
    assert tx["simulated"] and int(tx["value"], 16) == 0  # with an allowance override: not refused for it
    stack.send(payer, approval)  # approve first, then the call itself succeeds on-chain
    stack.send(payer, tx)
    stack.index()
    mine = c.get("/me/engagements", headers=learner).json()["data"][0]
    assert mine["token"] == usd and mine["total_amount"] == str(5 * 10**6)
    # The allowance now covers another payment of the same size? It was spent: a new approval again.
    again = c.post("/engagements/prepare", headers=learner, json=body).json()
    assert again["approval"] is not None
    # A learner without the tokens is refused before signing anything: the override does not lie.
    broke = c.post("/engagements/prepare", headers=stack.sign_in(anvil_account(11)), json=body)
    assert broke.status_code == 409 and broke.json()["code"] == "transaction_would_revert"
