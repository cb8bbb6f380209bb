"""Deploying through ape: connect to an ape network and sign with an ape account.

ape chooses the network (``ethereum:sepolia:node``, ``ethereum:local:foundry`` …) and holds the keys
(``ape accounts import <alias>``: an encrypted keyfile, never a key in the environment); the
transactions themselves are built and sent by :class:`chain.tx.Sender`, exactly as for every other
deployment, so both paths deploy the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from web3 import Web3

from chain.errors import ChainError

if TYPE_CHECKING:
    from ape.api import AccountAPI


class ApeError(ChainError):
    """An ape network or account could not be used (unknown network, unknown alias, bad passphrase)."""


@dataclass(frozen=True)
class _Signed:
    raw_transaction: bytes


@dataclass
class ApeSigner:
    """Adapts an ape account to :class:`chain.tx.TxSigner`."""

    account: AccountAPI

    @property
    def address(self) -> str:
        return str(self.account.address)

    def sign_transaction(self, transaction_dict: Any) -> _Signed:
        from ape.logging import logger

        ecosystem = self.account.provider.network.ecosystem
        txn = ecosystem.create_transaction(**dict(transaction_dict))
        with logger.at_level("ERROR"):  # not "Using cached key" once per transaction
            signed = self.account.sign_transaction(txn)
        if signed is None:
            raise ApeError(f"account {self.address} declined to sign")
        return _Signed(bytes(signed.serialize_transaction()))


@contextmanager
def ape_network(choice: str, rpc_url: str | None = None) -> Iterator[Web3]:
    """Connect to an ape network choice; ``rpc_url`` overrides the provider's configured endpoint."""
    from ape import networks
    from ape.exceptions import ApeException

    settings: dict[str, Any] = {}
    if rpc_url:
        # ape's node provider takes `uri`; foundry connects to a running anvil given as `host`.
        settings = {"host": rpc_url} if choice.endswith(":foundry") else {"uri": rpc_url}
    with ExitStack() as stack:
        try:
            provider = stack.enter_context(
                networks.parse_network_choice(choice, provider_settings=settings or None)
            )
        except ApeException as exc:
            raise ApeError(f"cannot connect to ape network {choice!r}: {exc}") from None
        web3 = getattr(provider, "web3", None)
        if not isinstance(web3, Web3):
            raise ApeError(f"ape provider {provider.name!r} of {choice!r} exposes no web3 connection")
        yield web3


def load_account(alias: str | None) -> AccountAPI:
    """An account by its ape alias; without one, ape's first test account (local networks only)."""
    from ape import accounts
    from ape.exceptions import ApeException

    if alias is None:
        return accounts.test_accounts[0]
    try:
        return accounts.load(alias)
    except (ApeException, KeyError, IndexError):
        known = ", ".join(sorted(a.alias for a in accounts if a.alias)) or "none"
        raise ApeError(
            f"no ape account {alias!r} (accounts known to ape: {known}); "
            f"add one with `ape accounts import {alias}`"
        ) from None


def unlock(account: AccountAPI) -> None:
    """Sign every deployment transaction without a prompt each: one passphrase, asked once.

    The passphrase comes from ``APE_ACCOUNTS_<alias>_PASSPHRASE`` when set (ape's own convention),
    otherwise ape prompts for it. Test accounts need no unlocking.
    """
    from ape.exceptions import ApeException

    set_autosign = getattr(account, "set_autosign", None)
    if set_autosign is None:
        return
    try:
        set_autosign(True)
    except ApeException as exc:
        raise ApeError(f"cannot unlock ape account {account.alias!r}: {exc}") from None
