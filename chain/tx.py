"""Signing and sending transactions from a local key with web3.py, waiting for receipts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams, TxReceipt, Wei

from chain.artifacts import Artifact
from chain.errors import ChainError

# anvil's well-known development mnemonic: public test keys, never used on a real network.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_account(index: int = 0) -> LocalAccount:
    """One of anvil's pre-funded development accounts."""
    Account.enable_unaudited_hdwallet_features()
    acct: LocalAccount = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return acct


class TransactionFailed(ChainError):
    """Raised when a transaction is mined but reverted."""


class SignedTx(Protocol):
    @property
    def raw_transaction(self) -> bytes: ...


class TxSigner(Protocol):
    """What signs for a Sender: an eth-account key (``LocalAccount``) or an ape account (``ApeSigner``)."""

    @property
    def address(self) -> Any: ...

    def sign_transaction(self, transaction_dict: Any) -> SignedTx: ...


@dataclass
class Sender:
    """Sends transactions from one signer, keeping its own nonce so back-to-back sends don't collide."""

    w3: Web3
    account: TxSigner
    timeout: float = 120.0
    _nonce: int | None = None

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send(self, tx: TxParams) -> TxReceipt:
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        full: dict[str, Any] = {
            "from": self.account.address,
            "nonce": self._nonce,
            "chainId": self.w3.eth.chain_id,
            **tx,
        }
        if "gas" not in full:
            full["gas"] = int(self.w3.eth.estimate_gas(full) * 1.2) + 10_000  # type: ignore[arg-type]
        if "maxFeePerGas" not in full and "gasPrice" not in full:
            base = self.w3.eth.get_block("latest").get("baseFeePerGas", 0)
            tip = self.w3.eth.max_priority_fee
            full["maxPriorityFeePerGas"] = tip
            full["maxFeePerGas"] = 2 * base + tip
        signed = self.account.sign_transaction(full)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self._nonce += 1
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout)
        if receipt["status"] != 1:
            raise TransactionFailed(f"transaction {tx_hash.hex()} reverted")
        return receipt

    def deploy(self, artifact: Artifact, *args: Any) -> tuple[Contract, TxReceipt]:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = factory.constructor(*args).build_transaction({"from": self.account.address})["data"]
        receipt = self.send({"data": data})
        address = receipt["contractAddress"]
        if address is None:
            raise TransactionFailed(f"deployment of {artifact.name} returned no address")
        return self.w3.eth.contract(address=address, abi=artifact.abi), receipt

    def call(self, fn: Any, value: int = 0) -> TxReceipt:
        """Send a bound contract function call, e.g. ``sender.call(escrow.functions.setFee(100))``."""
        tx = fn.build_transaction({"from": self.account.address, "value": value})
        return self.send({"to": tx["to"], "data": tx["data"], "value": Wei(value)})


def connect(rpc_url: str, timeout: float = 30.0) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
