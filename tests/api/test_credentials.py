"""Credentials end to end: issue, verify (API and the serverless CLI agree), revoke, expire, issuer
accreditation, tampered metadata, vouchers, engagement-backed rules, reorgs, presentations, batches."""

from __future__ import annotations

import json
import random
import string
import subprocess
import time
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from chain.artifacts import load_artifact
from chain.toolchain import VENV_BIN
from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

ISSUER, HOLDER, OTHER, ADMIN = (anvil_account(i) for i in (2, 1, 3, 0))


def issue(stack: Stack, **overrides: Any) -> str:
    stack.index()  # the API checks accreditation in the read model
    auth = stack.sign_in(ISSUER)
    body = {
        "holder": HOLDER.address,
        "skill": "solidity",
        "name": "Solidity Developer",
        "description": "credential " + "".join(random.choices(string.ascii_letters, k=12)),
    } | overrides
    prepared = stack.client.post("/credentials/prepare", headers=auth, json=body)
    assert prepared.status_code == 200, prepared.text
    stack.send(ISSUER, prepared.json()["tx"])
    stack.index()
    return str(prepared.json()["token_id"])


def api_verdict(stack: Stack, token_id: str) -> dict[str, Any]:
    response = stack.client.get(f"/verify/credential/31337/{token_id}")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def cli_verdict(stack: Stack, token_id: str) -> tuple[int, dict[str, Any]]:
    """`skillchain verify` straight against anvil and the local store, with no API running."""
    env = {
        "SKILLCHAIN_DATA_DIR": str(stack.settings.data_dir),
        "SKILLCHAIN_DEPLOYMENTS_DIR": str(stack.settings.deployments_dir),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [str(VENV_BIN / "skillchain"), "verify", f"31337:{token_id}", "--rpc", stack.chain.url, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return result.returncode, json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}


def setup_issuer(stack: Stack) -> None:
    stack.client.put(
        "/issuers/me",
        headers=stack.sign_in(ISSUER),
        json={"name": "Acme Academy", "website": "https://acme.example"},
    )


def test_issue_then_verify_valid_in_api_and_cli(stack: Stack) -> None:
    setup_issuer(stack)
    token = issue(stack)
    v = api_verdict(stack, token)
    assert v["valid"] and v["reasons"] == [] and v["issuer_accredited"] and v["skill"] == "solidity"
    assert v["metadata"]["credential"]["issuer"]["name"] == "Acme Academy"
    assert v["proof"]["block_number"] and v["proof"]["transaction"].startswith("0x")
    code, cli = cli_verdict(stack, token)
    assert (
        code == 0
        and cli["valid"]
        and cli["holder"] == v["holder"]
        and cli["proof"]["transaction"] == v["proof"]["transaction"]
    )
    badge = stack.client.get(f"/verify/credential/31337/{token}/badge").json()
    assert "OpenBadgeCredential" in badge["type"] and badge["credentialStatus"]["valid"]
    holder = stack.client.get(f"/verify/holder/{HOLDER.address}").json()
    assert token in [c["token_id"] for c in holder["data"]] and holder["total"] >= 1


def test_only_accredited_issuers_prepare(stack: Stack) -> None:
    response = stack.client.post(
        "/credentials/prepare",
        headers=stack.sign_in(OTHER),
        json={"holder": HOLDER.address, "skill": "solidity", "name": "x"},
    )
    assert response.status_code == 403


def test_revoke_with_reason_is_invalid_everywhere(stack: Stack) -> None:
    token = issue(stack)
    revoke = stack.client.post(
        f"/credentials/{token}/revoke", headers=stack.sign_in(ISSUER), json={"reason": "issued in error"}
    )
    assert revoke.status_code == 200
    assert (
        stack.client.post(
            f"/credentials/{token}/revoke", headers=stack.sign_in(OTHER), json={"reason": "x"}
        ).status_code
        == 403
    )
    stack.send(ISSUER, revoke.json()["tx"])
    stack.index()
    v = api_verdict(stack, token)
    assert not v["valid"] and v["reasons"] == ["revoked"] and v["revoke_reason_digest"]
    code, cli = cli_verdict(stack, token)
    assert code == 1 and cli["reasons"] == ["revoked"]


def test_expired_is_invalid(stack: Stack) -> None:
    token = issue(stack, expires_at=int(time.time()) + 3)
    assert api_verdict(stack, token)["valid"]
    time.sleep(4)
    stack.w3.provider.make_request("evm_mine", [])  # type: ignore[attr-defined]  # the CLI reads chain time
    assert api_verdict(stack, token)["reasons"] == ["expired"]
    code, cli = cli_verdict(stack, token)
    assert code == 1 and cli["reasons"] == ["expired"]


def test_tampered_metadata_is_a_digest_mismatch(stack: Stack) -> None:
    from ipfs.cid import parse_cid
    from ipfs.store import EmbeddedStore

    token = issue(stack)
    v = api_verdict(stack, token)
    store = EmbeddedStore(stack.settings.data_dir / "ipfs")
    path = store._path(parse_cid(v["metadata_cid"]))
    path.write_bytes(path.read_bytes().replace(b"Solidity Developer", b"Solidity Grandmaster"))
    tampered = api_verdict(stack, token)
    assert not tampered["valid"] and tampered["reasons"] == ["metadata digest mismatch"]
    code, cli = cli_verdict(stack, token)
    assert code == 1 and cli["reasons"] == ["metadata digest mismatch"]


def test_issuer_role_revoked_is_reported_separately(stack: Stack) -> None:
    token = issue(stack)
    role = stack.client.post(f"/admin/issuers/{ISSUER.address}/revoke", headers=stack.sign_in(ADMIN))
    assert role.status_code == 200
    assert (
        stack.client.post(f"/admin/issuers/{ISSUER.address}/revoke", headers=stack.sign_in(OTHER)).status_code
        == 403
    )
    stack.send(ADMIN, role.json())
    stack.index()
    try:
        v = api_verdict(stack, token)
        assert v["valid"] and v["issuer_accredited"] is False
        code, cli = cli_verdict(stack, token)
        assert code == 0 and cli["issuer_accredited"] is False
        assert stack.client.get(f"/issuers/{ISSUER.address}").json()["accredited"] is False
    finally:
        stack.send(
            ADMIN,
            stack.client.post(f"/admin/issuers/{ISSUER.address}/grant", headers=stack.sign_in(ADMIN)).json(),
        )
        stack.index()


def _sign_typed(key: str, typed: dict[str, Any]) -> str:
    sig = Account.sign_message(encode_typed_data(full_message=typed), key).signature.hex()
    return "0x" + sig.removeprefix("0x")


def test_voucher_flow_and_replay_is_rejected(stack: Stack) -> None:
    issuer = stack.sign_in(ISSUER)
    created = stack.client.post(
        "/credentials/vouchers",
        headers=issuer,
        json={"holder": HOLDER.address, "skill": "python", "name": "Python"},
    )
    assert created.status_code == 201
    voucher = created.json()
    # Every integer of the typed data is a decimal string: a browser's JSON.parse would round a nonce
    # above 2^53, and the issuer's wallet would then sign another voucher.
    message = voucher["typed_data"]["message"]
    assert all(isinstance(message[k], str) for k in ("nonce", "expiresAt", "engagementId", "validUntil"))
    assert int(message["nonce"]) > 2**53
    bad = stack.client.put(
        f"/credentials/vouchers/{voucher['id']}/signature",
        headers=issuer,
        json={"signature": _sign_typed(OTHER.key.hex(), voucher["typed_data"])},
    )
    assert bad.status_code == 400
    signed = stack.client.put(
        f"/credentials/vouchers/{voucher['id']}/signature",
        headers=issuer,
        json={"signature": _sign_typed(ISSUER.key.hex(), voucher["typed_data"])},
    )
    assert signed.status_code == 200 and signed.json()["redeem_tx"]
    holder = stack.sign_in(HOLDER)
    waiting = stack.client.get("/me/vouchers", headers=holder).json()["data"]
    [mine] = [v for v in waiting if v["id"] == voucher["id"]]
    stack.send(HOLDER, mine["redeem_tx"])  # the holder pays the gas and redeems
    stack.index()
    assert api_verdict(stack, voucher["token_id"])["valid"]
    waiting = stack.client.get("/me/vouchers", headers=holder).json()["data"]
    assert voucher["id"] not in [v["id"] for v in waiting]
    with pytest.raises(Exception, match=r"(?i)revert|NonceUsed|0x"):
        stack.send(OTHER, mine["redeem_tx"])  # replay by anyone: refused on-chain


def test_engagement_backed_credential_rules(stack: Stack) -> None:
    client, provider = stack.sign_in(HOLDER), stack.sign_in(ISSUER)
    prepared = stack.client.post(
        "/engagements/prepare",
        headers=client,
        json={
            "provider": ISSUER.address,
            "title": "Mentoring",
            "skill": "solidity",
            "milestones": [{"title": "m", "amount": "1000", "due_date": int(time.time()) + 86400}],
        },
    ).json()
    stack.send(HOLDER, prepared["tx"])
    stack.index()
    eid = stack.client.get("/me/engagements", headers=client).json()["data"][0]["id"]
    early = stack.client.post(
        "/credentials/prepare",
        headers=provider,
        json={"holder": HOLDER.address, "skill": "solidity", "name": "x", "engagement_id": eid},
    )
    assert early.status_code == 400 and "settled" in early.json()["detail"]
    stack.send(ISSUER, stack.client.post(f"/engagements/{eid}/accept", headers=provider).json())
    stack.send(HOLDER, stack.client.post(f"/engagements/{eid}/milestones/0/approve", headers=client).json())
    stack.index()
    wrong_holder = stack.client.post(
        "/credentials/prepare",
        headers=provider,
        json={"holder": OTHER.address, "skill": "solidity", "name": "x", "engagement_id": eid},
    )
    assert wrong_holder.status_code == 400 and "client" in wrong_holder.json()["detail"]
    token = issue(stack, engagement_id=eid)
    v = api_verdict(stack, token)
    assert v["valid"] and v["engagement_id"] == eid
    # A wrong issuer is refused on-chain even if someone builds the transaction by hand.
    credential = stack.w3.eth.contract(
        address=stack.record.address_of("SkillCredential"), abi=load_artifact("SkillCredential").abi
    )
    from chain.tx import Sender

    admin = Sender(stack.w3, ADMIN)
    admin.call(credential.functions.grantRole(credential.functions.ISSUER_ROLE().call(), OTHER.address))
    with pytest.raises(Exception, match=r"(?i)revert|0x"):
        Sender(stack.w3, OTHER).call(
            credential.functions.issue(HOLDER.address, b"\x01" * 32, b"\x02" * 32, 0, eid)
        )


def test_reorg_that_removes_the_issuing_block_reports_not_found(stack: Stack) -> None:
    snapshot = stack.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[attr-defined]
    token = issue(stack)
    assert api_verdict(stack, token)["exists"]
    stack.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[attr-defined]
    for _ in range(3):
        stack.w3.provider.make_request("evm_mine", [])  # type: ignore[attr-defined]
    from db.engine import make_engine
    from indexer.rpc import RpcClient
    from indexer.runner import Indexer, IndexerConfig

    engine = make_engine(stack.settings.effective_database_url)
    Indexer(
        engine, RpcClient(stack.chain.url), IndexerConfig.from_record(stack.record, finality_depth=64)
    ).run(once=True)
    v = api_verdict(stack, token)
    assert not v["exists"] and v["reasons"] == ["not found"]
    code, _cli = cli_verdict(stack, token)
    assert code == 1


def test_presentation_proves_control_once(stack: Stack) -> None:
    challenge = stack.client.get("/verify/challenge").json()
    sig = Account.sign_message(encode_defunct(text=challenge["message"]), HOLDER.key).signature.hex()
    body = {
        "address": HOLDER.address,
        "challenge": challenge["challenge"],
        "signature": "0x" + sig.removeprefix("0x"),
    }
    ok = stack.client.post("/verify/presentation", json=body)
    assert ok.status_code == 200 and ok.json()["controls_address"] and ok.json()["holder"] == HOLDER.address
    assert stack.client.post("/verify/presentation", json=body).status_code == 400  # single use
    other = stack.client.get("/verify/challenge").json()
    forged = Account.sign_message(encode_defunct(text=other["message"]), OTHER.key).signature.hex()
    assert (
        stack.client.post(
            "/verify/presentation",
            json=body | {"challenge": other["challenge"], "signature": "0x" + forged.removeprefix("0x")},
        ).status_code
        == 400
    )


def test_batch_issuance_reports_each_item(stack: Stack) -> None:
    stack.index()  # the issuer's accreditation is read from the indexed chain
    items = [
        {"holder": HOLDER.address, "skill": "rust", "name": "Rust"},
        {"holder": OTHER.address, "skill": "no-such-skill", "name": "?"},
        {"holder": OTHER.address, "skill": "go", "name": "Go", "expires_at": 5},
    ]
    results = stack.client.post(
        "/credentials/batch", headers=stack.sign_in(ISSUER), json={"items": items}
    ).json()
    assert isinstance(results, list), results
    assert [r["ok"] for r in results] == [True, False, False]
    assert "unknown skill" in results[1]["error"] and "future" in results[2]["error"]


def test_a_voucher_whose_credential_would_expire_before_redemption_is_refused(stack: Stack) -> None:
    issuer = stack.sign_in(ISSUER)
    body = {"holder": HOLDER.address, "skill": "solidity", "name": "x", "expires_at": int(time.time()) - 60}
    response = stack.client.post("/credentials/vouchers", headers=issuer, json=body)
    assert response.status_code == 400 and "expires_at" in response.json()["detail"]


@pytest.mark.parametrize("form", ["caip19", "share_link"])
def test_an_employer_verifies_with_nothing_but_the_id_an_rpc_and_a_gateway(
    stack: Stack, tmp_path: Any, form: str
) -> None:
    """The README's command, on a machine with no data folder and no deployment record."""
    from tests.net import serving

    token = issue(stack)
    v = api_verdict(stack, token)
    assert v["caip19"] == f"eip155:31337/erc721:{stack.record.address_of('SkillCredential')}/{token}"
    assert v["share_url"].startswith(stack.settings.effective_public_url)  # never the Host header
    name = v["caip19"] if form == "caip19" else v["share_url"]
    env = {"SKILLCHAIN_DATA_DIR": str(tmp_path / "empty"), "PATH": "/usr/bin:/bin"}
    with serving(stack.client.app) as gateway:
        result = subprocess.run(
            [str(VENV_BIN / "skillchain"), "verify", name, "--rpc", stack.chain.url, "--gateway", gateway],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VALID" in result.stdout
    bad = subprocess.run(
        [str(VENV_BIN / "skillchain"), "verify", "31337:1", "--rpc", stack.chain.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and "CAIP-19" in bad.stderr


def test_issuer_names_are_self_declared_until_an_admin_confirms_them(stack: Stack) -> None:
    c = stack.client
    setup_issuer(stack)  # "Acme Academy"
    assert c.get(f"/issuers/{ISSUER.address}").json()["name_verified"] is False
    url = f"/admin/issuers/{ISSUER.address}/verified-name"
    assert c.put(url, headers=stack.sign_in(OTHER), json={"name": "Acme Academy"}).status_code == 403
    admin = stack.sign_in(ADMIN)
    assert (
        c.put(url, headers=admin, json={"name": "Massachusetts Institute of Technology"}).status_code == 409
    )
    confirmed = c.put(url, headers=admin, json={"name": "Acme Academy"})
    assert confirmed.status_code == 200 and confirmed.json()["name_verified"] is True
    setup_issuer(stack)  # the same name again: still confirmed
    assert c.get(f"/issuers/{ISSUER.address}").json()["name_verified"] is True
    c.put("/issuers/me", headers=stack.sign_in(ISSUER), json={"name": "Acme Academy (Harvard)"})
    assert c.get(f"/issuers/{ISSUER.address}").json()["name_verified"] is False  # a new name is unconfirmed
    setup_issuer(stack)


def test_a_link_naming_a_lookalike_contract_is_refused_where_the_deployment_is_known(stack: Stack) -> None:
    token = issue(stack)
    lookalike = "0x" + "12" * 20
    env = {
        "SKILLCHAIN_DATA_DIR": str(stack.settings.data_dir),
        "SKILLCHAIN_DEPLOYMENTS_DIR": str(stack.settings.deployments_dir),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [
            str(VENV_BIN / "skillchain"),
            "verify",
            f"eip155:31337/erc721:{lookalike}/{token}",
            "--rpc",
            stack.chain.url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1 and "is not Skillchain's credential contract" in result.stderr


def test_a_batch_counts_each_item_against_the_document_quota(stack: Stack) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    stack.index()  # the issuer's accreditation is read from the indexed chain
    c = TestClient(create_app(stack.settings.model_copy(update={"document_quota": 3})))
    issuer = stack.sign_in(ISSUER)
    item = {"holder": HOLDER.address, "skill": "go", "name": "Go"}
    too_big = c.post("/credentials/batch", headers=issuer, json={"items": [item] * 4})
    assert too_big.status_code == 413 and "at most 3" in too_big.json()["detail"]
    assert c.post("/credentials/batch", headers=issuer, json={"items": [item] * 2}).status_code == 200
    again = c.post("/credentials/batch", headers=issuer, json={"items": [item] * 2})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1  # 2 + 2 > 3 this hour
    assert c.post("/credentials/batch", headers=issuer, json={"items": [item]}).status_code == 200
