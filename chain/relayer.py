"""The card-payment relayer's chain side: signs `fundFor` / `raiseDispute` from the operator's key
(configured, never in the repo), keeps nonces, re-broadcasts the same signed transaction after a
crash, and replaces a stuck one at the same nonce with higher fees. The escrow's unique
`externalRef` is the last line against double funding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import TransactionNotFound

from chain.artifacts import load_artifact
from chain.records import DeploymentRecord


def external_ref(session_id: str) -> bytes:
    """keccak256 of the Stripe Checkout Session id: one card payment funds at most one engagement."""
    return bytes(keccak(session_id.encode()))


@dataclass(frozen=True)
class SignedTx:
    raw: str
    hash: str
    nonce: int


class Relayer:
    def __init__(self, w3: Web3, account: LocalAccount, record: DeploymentRecord) -> None:
        self.w3 = w3
        self.account = account
        self.escrow = w3.eth.contract(
            address=Web3.to_checksum_address(record.address_of("SkillEscrow")),
            abi=load_artifact("SkillEscrow").abi,
        )
        self.erc20_abi = load_artifact("MockERC20").abi

    @property
    def address(self) -> str:
        return str(self.account.address)

    def next_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.account.address, "pending"))

    def _fees(self, bump: int = 0) -> dict[str, int]:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tip = int(self.w3.eth.max_priority_fee)
        factor = 1.0 + 0.125 * bump  # a replacement must pay >= 12.5% more
        return {
            "maxPriorityFeePerGas": int(tip * factor) + bump,
            "maxFeePerGas": int((2 * base + tip) * factor) + bump,
        }

    def _sign(self, fn: Any, nonce: int, bump: int = 0) -> SignedTx:
        tx = fn.build_transaction(
            {
                "from": self.account.address,
                "nonce": nonce,
                "chainId": self.w3.eth.chain_id,
                **self._fees(bump),
            }
        )
        signed = self.account.sign_transaction(tx)
        return SignedTx(
            raw="0x" + bytes(signed.raw_transaction).hex(), hash="0x" + bytes(signed.hash).hex(), nonce=nonce
        )

    def sign_fund_for(
        self,
        *,
        client: str,
        provider: str,
        token: str,
        amounts: list[int],
        due_dates: list[int],
        review_window: int,
        arbiter: str,
        terms_digest: bytes,
        ref: bytes,
        nonce: int,
        bump: int = 0,
    ) -> SignedTx:
        fn = self.escrow.functions.fundFor(
            client, provider, token, amounts, due_dates, review_window, arbiter, terms_digest, ref
        )
        return self._sign(fn, nonce, bump)

    def sign_dispute(self, engagement_id: int, nonce: int) -> SignedTx:
        return self._sign(self.escrow.functions.raiseDispute(engagement_id), nonce)

    def sign_withdraw_request(self, engagement_id: int, nonce: int) -> SignedTx:
        """A chargeback before the provider accepted: take the request back (all of it to the relayer)."""
        return self._sign(self.escrow.functions.withdrawRequest(engagement_id), nonce)

    def broadcast(self, tx: SignedTx) -> None:
        """Send a signed transaction; sending the same one again is harmless."""
        try:
            self.w3.eth.send_raw_transaction(HexStr(tx.raw))
        except Exception as exc:
            message = str(exc).lower()
            if "already known" in message or "already imported" in message:
                return
            if "nonce too low" in message and self.receipt(tx.hash) is not None:
                return
            raise

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        try:
            return dict(self.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def wait(self, tx_hash: str, timeout: float = 60.0) -> dict[str, Any]:
        return dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout))  # type: ignore[arg-type]

    def ref_used(self, ref: bytes) -> bool:
        return bool(self.escrow.functions.isExternalRefUsed(ref).call())

    def ensure_allowance(self, token: str, amount: int) -> None:
        erc20 = self.w3.eth.contract(address=Web3.to_checksum_address(token), abi=self.erc20_abi)
        if erc20.functions.allowance(self.account.address, self.escrow.address).call() >= amount:
            return
        tx = self._sign(erc20.functions.approve(self.escrow.address, 2**256 - 1), self.next_nonce())
        self.broadcast(tx)
        self.wait(tx.hash)
