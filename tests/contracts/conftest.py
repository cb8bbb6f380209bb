"""Shared deployed fixtures for contract tests: deployed once per module, isolated per test by ape's snapshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

HOUR = 3600
DAY = 24 * HOUR
FEE_BPS = 250
ETH = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\x00" * 32
TERMS = b"\x11" * 32


@pytest.fixture(scope="session")
def admin(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="session")
def treasury(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture(scope="session")
def arbiter(accounts: Any) -> Any:
    return accounts[2]


@pytest.fixture(scope="session")
def client(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture(scope="session")
def provider(accounts: Any) -> Any:
    return accounts[4]


@pytest.fixture(scope="session")
def funder(accounts: Any) -> Any:
    return accounts[5]


@pytest.fixture(scope="session")
def stranger(accounts: Any) -> Any:
    return accounts[6]


@pytest.fixture(scope="module")
def escrow(project: Any, admin: Any, treasury: Any, arbiter: Any, funder: Any) -> Any:
    contract = admin.deploy(project.SkillEscrow, admin, 0, treasury, FEE_BPS)
    contract.grantRole(contract.ARBITER_ROLE(), arbiter, sender=admin)
    contract.grantRole(contract.FUNDER_ROLE(), funder, sender=admin)
    contract.grantRole(contract.PAUSER_ROLE(), admin, sender=admin)
    return contract


@pytest.fixture(scope="module")
def usdc(project: Any, admin: Any, escrow: Any, client: Any, funder: Any) -> Any:
    token = admin.deploy(project.MockERC20, "Test USD", "tUSD", 6)
    escrow.setTokenAllowed(token, True, sender=admin)
    for holder in (client, funder):
        token.mint(holder, 10**15, sender=admin)
        token.approve(escrow, 2**256 - 1, sender=holder)
    return token


REVIEW_MINIMUM_ETH = 10**15
REVIEW_MINIMUM_USDC = 1_000


@pytest.fixture(scope="module")
def reputation(project: Any, admin: Any, escrow: Any, usdc: Any) -> Any:
    contract = admin.deploy(project.Reputation, admin, 0, escrow)
    # As the deployment does: every accepted token has a minimum.
    contract.setReviewMinimum(ETH, REVIEW_MINIMUM_ETH, sender=admin)
    contract.setReviewMinimum(usdc, REVIEW_MINIMUM_USDC, sender=admin)
    return contract


@pytest.fixture
def create(escrow: Any, client: Any, provider: Any, arbiter: Any, chain: Any) -> Callable[..., int]:
    """Creates an ETH request and, unless `accept=False`, has its provider accept it (defaults: 2
    milestones of 1 and 2 ETH, due in 7 and 14 days)."""

    def _create(
        amounts: list[int] | None = None,
        due_in: list[int] | None = None,
        *,
        sender: Any = None,
        to: Any = None,
        window: int = DAY,
        accept: bool = True,
    ) -> int:
        amounts = amounts or [10**18, 2 * 10**18]
        due_in = due_in or [7 * DAY * (i + 1) for i in range(len(amounts))]
        now = chain.pending_timestamp
        receipt = escrow.createEngagement(
            to or provider,
            ETH,
            amounts,
            [now + d for d in due_in],
            window,
            arbiter,
            TERMS,
            sender=sender or client,
            value=sum(amounts),
        )
        eid = int(receipt.return_value)
        if accept:
            escrow.acceptEngagement(eid, sender=to or provider)
        return eid

    return _create


@pytest.fixture(scope="module")
def credential(project: Any, admin: Any, escrow: Any, provider: Any) -> Any:
    contract = admin.deploy(project.SkillCredential, admin, 0, escrow)
    contract.grantRole(contract.ISSUER_ROLE(), provider, sender=admin)
    contract.grantRole(contract.PAUSER_ROLE(), admin, sender=admin)
    return contract
