"""A chain with the contracts deployed, an indexer and the API over one data folder: the whole stack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from web3 import Web3

from api.app import create_app
from bus.wake import InProcessBus
from chain.compile_if_needed import ensure_compiled
from chain.localchain import LocalChain
from chain.records import DeploymentRecord
from chain.tx import Sender, anvil_account
from db.engine import make_engine
from indexer.rpc import RpcClient
from indexer.runner import Indexer, IndexerConfig
from skillchain.settings import Settings
from tests.api.siwe_helpers import iso
from tests.indexer.conftest import deploy_test_contracts
from tests.net import free_port


@dataclass
class Stack:
    settings: Settings
    chain: LocalChain
    w3: Web3
    record: DeploymentRecord
    client: TestClient

    def index(self) -> None:
        engine = make_engine(self.settings.effective_database_url)
        # Everything in the unfinalised window: reorg tests can roll back, and the live path is exercised.
        config = IndexerConfig.from_record(self.record, finality_depth=64)
        # The same process's bus: the API's stream hub hears each commit at once.
        Indexer(engine, RpcClient(self.chain.url), config, wake=InProcessBus.shared().wake).run(once=True)
        engine.dispose()

    def sign_in(self, account: LocalAccount, client: TestClient | None = None) -> dict[str, str]:
        """A session for `account` on this stack's API (or on `client`, another app of the stack)."""
        from datetime import UTC, datetime

        from eth_account.messages import encode_defunct

        from api.auth.siwe import SiweMessage

        client = client or self.client
        nonce = client.get("/auth/nonce").json()["nonce"]
        text = SiweMessage(
            domain=self.settings.effective_siwe_domain,
            address=account.address,
            statement="Sign in to Skillchain",
            uri=f"http://{self.settings.effective_siwe_domain}",
            version="1",
            chain_id=self.record.chain_id,
            nonce=nonce,
            issued_at=iso(datetime.now(UTC)),
        ).to_text()
        sig = Account.sign_message(encode_defunct(text=text), account.key).signature.hex()
        response = client.post(
            "/auth/verify", json={"message": text, "signature": "0x" + sig.removeprefix("0x")}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def warp(self, seconds: int) -> None:
        """Moves the chain's clock forward (every test of the module shares it: keep it small)."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def send(self, account: LocalAccount, tx: dict[str, str | int]) -> dict[str, object]:
        """What the wallet does with a prepared transaction: sign it and send it."""
        assert int(tx["chainId"]) == self.w3.eth.chain_id
        receipt = Sender(self.w3, account).send(
            {"to": str(tx["to"]), "data": str(tx["data"]), "value": int(str(tx["value"]), 16)}
        )  # type: ignore[typeddict-item]
        assert receipt["status"] == 1
        return dict(receipt)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ensure_compiled()
    data: Path = tmp_path_factory.mktemp("stack")
    port = free_port()
    chain = LocalChain(data_dir=data, port=port, chain_id=31337)
    chain.start()
    try:
        w3, record = deploy_test_contracts(chain, data, issuer=2)
        settings = Settings(  # type: ignore[call-arg]
            data_dir=data,
            database_url=f"sqlite:///{data / 'api.db'}",
            anvil_port=port,
            auth_rate_limit=0,
            public_write_rate_limit=0,
            deployments_dir=data / "none",
            admins=[anvil_account(0).address],
        )
        client = TestClient(create_app(settings))
        yield Stack(settings, chain, w3, record, client)
    finally:
        chain.stop()


@pytest.fixture
def clock(stack: Stack) -> Iterator[list[float]]:
    """The stack API's clock, as a list the test may move (`now[0] += seconds`): holds lapse and
    reminders fall due without sleeping."""
    import time

    app = stack.client.app
    now = [float(time.time())]
    before = app.state.clock  # type: ignore[attr-defined]
    app.state.clock = lambda: now[0]  # type: ignore[attr-defined]
    yield now
    app.state.clock = before  # type: ignore[attr-defined]
