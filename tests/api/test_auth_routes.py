"""The sign-in routes on SQLite and PostgreSQL: nonces, sessions, replay, concurrency, limits."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from db.auth import auth_nonces
from tests.api.conftest import make_settings
from tests.api.siwe_helpers import ADDRESS, make_message
from tests.net import serve_in_thread


def sign_in(client: TestClient, **kw: object) -> httpx.Response:
    nonce = client.get("/auth/nonce").json()["nonce"]
    message, signature = make_message(nonce, **kw)  # type: ignore[arg-type]
    return client.post("/auth/verify", json={"message": message, "signature": signature})


def test_health(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"


def test_nonce_is_long_random_and_short_lived(client: TestClient) -> None:
    first = client.get("/auth/nonce").json()
    second = client.get("/auth/nonce").json()
    assert len(first["nonce"]) == 32 and int(first["nonce"], 16) >= 0  # 128 bits, hex
    assert first["nonce"] != second["nonce"] and first["expires_in"] == 300


def test_sign_in_then_logout(client: TestClient) -> None:
    response = sign_in(client)
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["address"] == ADDRESS and session["chain_id"] == 31337
    auth = {"Authorization": f"Bearer {session['token']}"}
    assert client.post("/auth/logout", headers=auth).json() == {"signed_out": True}
    again = client.post("/auth/logout", headers=auth)
    assert again.status_code == 401


def test_replayed_message_is_refused(client: TestClient) -> None:
    nonce = client.get("/auth/nonce").json()["nonce"]
    message, signature = make_message(nonce)
    body = {"message": message, "signature": signature}
    assert client.post("/auth/verify", json=body).status_code == 200
    replay = client.post("/auth/verify", json=body)
    assert replay.status_code == 401 and "nonce" in replay.json()["detail"]


def test_nonce_not_issued_by_the_server_is_refused(client: TestClient) -> None:
    message, signature = make_message("ownnonce1234")
    response = client.post("/auth/verify", json={"message": message, "signature": signature})
    assert response.status_code == 401 and "nonce" in response.json()["detail"]


def test_expired_nonce_is_refused(client: TestClient, app: object) -> None:
    nonce = client.get("/auth/nonce").json()["nonce"]
    with app.state.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(update(auth_nonces).values(expires_at=int(time.time()) - 1))
    message, signature = make_message(nonce)
    assert client.post("/auth/verify", json={"message": message, "signature": signature}).status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"domain": "evil.example"}, "domain_mismatch"),
        ({"uri": "http://evil.example/login"}, "domain_mismatch"),
        ({"chain_id": 1}, "chain_not_accepted"),
    ],
)
def test_wrong_domain_uri_or_chain_is_refused(
    client: TestClient, kwargs: dict[str, object], reason: str
) -> None:
    response = sign_in(client, **kwargs)
    assert response.status_code == 401 and reason in response.json()["detail"]


def test_bad_signature_and_malformed_message(client: TestClient) -> None:
    nonce = client.get("/auth/nonce").json()["nonce"]
    message, signature = make_message(nonce)
    forged = signature[:-4] + ("00" if signature[-4:-2] != "00" else "11") + signature[-2:]
    assert client.post("/auth/verify", json={"message": message, "signature": forged}).status_code == 401
    assert client.post("/auth/verify", json={"message": "hello", "signature": "0x00"}).status_code == 400
    assert client.post("/auth/verify", json={"message": message, "signature": "zz"}).status_code == 422
    assert client.post("/auth/verify", json={"message": message}).status_code == 422
    extra = {"message": message, "signature": signature, "role": "admin"}
    assert client.post("/auth/verify", json=extra).status_code == 422


def test_huge_message_is_refused_without_parsing(client: TestClient) -> None:
    big = "a" * 100_000
    response = client.post("/auth/verify", json={"message": big, "signature": "0x00"})
    assert response.status_code == 422
    huge = client.post("/auth/verify", content=b"x" * 2_000_000, headers={"Content-Type": "application/json"})
    assert huge.status_code == 413


def test_rate_limit_counts_sign_ins_and_answers_429_with_retry_after(
    tmp_path: Path, database_url: str
) -> None:
    client = TestClient(create_app(make_settings(tmp_path, database_url, auth_rate_limit=3)))
    codes = [sign_in(client).status_code for _ in range(4)]  # a nonce and a verify each: one sign-in
    assert codes == [200, 200, 200, 429]
    limited = sign_in(client)
    assert int(limited.headers["Retry-After"]) >= 1 and limited.json()["code"] == "rate_limited"
    assert client.get("/health").status_code == 200  # only the auth routes are limited


def test_nonces_are_unauthenticated_writes_and_limited_as_such(tmp_path: Path, database_url: str) -> None:
    client = TestClient(create_app(make_settings(tmp_path, database_url, public_write_rate_limit=2)))
    assert [client.get("/auth/nonce").status_code for _ in range(3)] == [200, 200, 429]


def test_nonce_says_what_the_message_must_say(client: TestClient) -> None:
    body = client.get("/auth/nonce").json()
    assert body["domain"] == "127.0.0.1:8000" and body["uri"] == "http://127.0.0.1:8000"
    assert body["version"] == "1" and 31337 in body["chain_ids"] and body["statement"]


def test_fifty_concurrent_submissions_make_exactly_one_session(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_settings(tmp_path, database_url, auth_rate_limit=0))
    base, server, thread = serve_in_thread(app)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            nonce = http.get("/auth/nonce").json()["nonce"]
            message, signature = make_message(nonce)
            body = {"message": message, "signature": signature}

            def submit(_: int) -> httpx.Response:
                with httpx.Client(base_url=base, timeout=60) as one:
                    return one.post("/auth/verify", json=body)

            with ThreadPoolExecutor(max_workers=50) as pool:
                responses = list(pool.map(submit, range(50)))
        codes = sorted(r.status_code for r in responses)
        assert codes.count(200) == 1 and codes.count(401) == 49, codes
        assert all("nonce" in r.json()["detail"] for r in responses if r.status_code == 401)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_contract_wallet_signs_in_via_eip1271(
    tmp_path: Path, project: object, accounts: object, chain: object
) -> None:
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from api.auth.siwe import SiweMessage
    from tests.api.siwe_helpers import KEY, iso

    owner = Account.from_key(KEY)
    wallet = accounts[0].deploy(project.TestSmartWallet, owner.address)  # type: ignore[attr-defined,index]
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'w.db'}", rpc_urls={31337: chain.provider.uri})  # type: ignore[attr-defined]
    client = TestClient(create_app(settings))
    from datetime import UTC, datetime

    def attempt(key: str) -> httpx.Response:
        nonce = client.get("/auth/nonce").json()["nonce"]
        text = SiweMessage(
            domain="127.0.0.1:8000",
            address=wallet.address,
            statement="Sign in",
            uri="http://127.0.0.1:8000",
            version="1",
            chain_id=31337,
            nonce=nonce,
            issued_at=iso(datetime.now(UTC)),
        ).to_text()
        sig = Account.sign_message(encode_defunct(text=text), key).signature.hex()
        return client.post("/auth/verify", json={"message": text, "signature": "0x" + sig.removeprefix("0x")})

    ok = attempt(KEY)
    assert ok.status_code == 200 and ok.json()["address"] == wallet.address
    wrong = attempt(Account.create().key.hex())
    assert wrong.status_code == 401 and "invalid_signature" in wrong.json()["detail"]


@pytest.mark.parametrize("uri", ["javascript://127.0.0.1:8000/alert(1)", "data://127.0.0.1:8000/x"])
def test_a_uri_that_is_not_http_on_our_origin_is_refused(client: TestClient, uri: str) -> None:
    response = sign_in(client, uri=uri)
    assert response.status_code == 401 and "http(s)" in response.json()["detail"]
    assert sign_in(client, uri="https://127.0.0.1:8000/login").status_code == 200


def test_a_wallet_not_deployed_yet_signs_in_with_erc6492(
    tmp_path: Path, project: object, accounts: object, chain: object
) -> None:
    from datetime import UTC, datetime

    from eth_abi.abi import encode
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from api.auth.eip1271 import ERC6492_SUFFIX, RpcEip1271Checker
    from api.auth.siwe import SiweMessage, personal_message_hash
    from tests.api.siwe_helpers import KEY, iso

    owner = Account.from_key(KEY)
    factory = accounts[0].deploy(project.TestWalletFactory)  # type: ignore[attr-defined,index]
    salt = b"\x07" * 32
    wallet = factory.walletOf(owner.address, salt)
    w3 = chain.provider.web3  # type: ignore[attr-defined]
    assert w3.eth.get_code(wallet) == b""  # counterfactual: nothing at the address yet
    deploy_call = bytes(factory.deploy.encode_input(owner.address, salt))  # what would deploy it
    url = chain.provider.uri  # type: ignore[attr-defined]
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'w.db'}", rpc_urls={31337: url})
    client = TestClient(create_app(settings))

    def message() -> str:
        return SiweMessage(
            domain="127.0.0.1:8000",
            address=wallet,
            statement="Sign in",
            uri="http://127.0.0.1:8000",
            version="1",
            chain_id=31337,
            nonce=client.get("/auth/nonce").json()["nonce"],
            issued_at=iso(datetime.now(UTC)),
        ).to_text()

    def wrapped(text: str, key: str) -> bytes:
        inner = Account.sign_message(encode_defunct(text=text), key).signature
        return (
            encode(["address", "bytes", "bytes"], [factory.address, deploy_call, bytes(inner)])
            + ERC6492_SUFFIX
        )

    text = message()
    ok = client.post("/auth/verify", json={"message": text, "signature": "0x" + wrapped(text, KEY).hex()})
    assert ok.status_code == 200, ok.text
    assert ok.json()["address"] == wallet
    assert w3.eth.get_code(wallet) == b""  # checked in an eth_call: still not deployed
    text = message()
    forged = wrapped(text, Account.create().key.hex())
    wrong = client.post("/auth/verify", json={"message": text, "signature": "0x" + forged.hex()})
    assert wrong.status_code == 401
    # Offers and vouchers are checked on-chain (ECDSA, EIP-1271 only): their checker refuses 6492.
    good = wrapped(text, KEY)
    digest = personal_message_hash(text)
    assert RpcEip1271Checker({31337: url}, counterfactual=True)(31337, wallet, digest, good)
    assert not RpcEip1271Checker({31337: url})(31337, wallet, digest, good)
