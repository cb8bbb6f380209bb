"""Indexer fixtures: a private anvil per test module with the contracts deployed, and databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from web3 import Web3

from chain.compile_if_needed import ensure_compiled
from chain.deploy import DeployParams, deploy
from chain.localchain import LocalChain
from chain.records import DeploymentRecord
from chain.tx import Sender, anvil_account
from db.engine import make_engine
from db.migrate import upgrade
from tests.net import free_port

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Deployed:
    url: str
    w3: Web3
    record: DeploymentRecord
    chain: LocalChain


def deploy_test_contracts(chain: LocalChain, data: Path, *, issuer: int) -> tuple[Web3, DeploymentRecord]:
    """The contracts on a private anvil, as the tests use them: anvil account 0 deploys, 9 arbitrates,
    `issuer` is accredited, 8 is the card relayer, 1-8 hold the test stablecoin, no admin delay."""
    w3 = Web3(Web3.HTTPProvider(chain.url))
    params = DeployParams(
        admin_delay=0,
        arbiters=[anvil_account(9).address],
        issuers=[anvil_account(issuer).address],
        funders=[anvil_account(8).address],
        review_minimums={"eth": 1},
        test_stablecoin=True,
        stablecoin_holders=[anvil_account(i).address for i in range(1, 9)],
        verification_inputs=False,
        test_price_feeds={
            "ETH/USD": Decimal("2500"),
            "EUR/USD": Decimal("1.1"),
            "INR/USD": Decimal("0.0125"),
        },
    )
    record, _ = deploy(
        Sender(w3, anvil_account(0)),
        params,
        data_dir=data,
        deployments_dir=data / "none",
        log=lambda _m: None,
    )
    return w3, record


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    ensure_compiled()
    data = tmp_path_factory.mktemp("chain")
    chain = LocalChain(data_dir=data, port=free_port(), chain_id=31337)
    chain.start()
    try:
        w3, record = deploy_test_contracts(chain, data, issuer=4)
        yield Deployed(chain.url, w3, record, chain)
    finally:
        chain.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_database(request.param, tmp_path)


def make_database(kind: str, tmp_path: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        e = make_engine(f"sqlite:///{tmp_path / f'idx-{uuid.uuid4().hex[:6]}.db'}")
        upgrade(e)
        yield e
        e.dispose()
        return
    name = f"sc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    e = make_engine(f"postgresql://postgres@127.0.0.1:5432/{name}")
    upgrade(e)
    try:
        yield e
    finally:
        e.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
