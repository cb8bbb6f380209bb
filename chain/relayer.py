"""The card-payment relayer's chain side: signs `fundFor` / `raiseDispute` from the operator's key
(configured, never in the repo), keeps nonces, re-broadcasts the same signed transaction after a
crash, and signs the replacement of a stuck one at the same nonce with higher fees, up to a cap (the
payments worker decides when: api/payments/service.py). The escrow's unique
`externalRef` is the last line against double funding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import TimeExhausted, TransactionNotFound

from chain.artifacts import load_artifact
from chain.records import DeploymentRecord


def external_ref(session_id: str) -> bytes:
    """keccak256 of the Stripe Checkout Session id: one card payment funds at most one engagement."""
    return bytes(keccak(session_id.encode()))


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fees of one attempt, in wei per gas."""

    max_fee: int
    tip: int


@dataclass(frozen=True)
class SignedTx:
    raw: str
    hash: str
    nonce: int
    fees: Fees | None = None


class FeeTooLow(RuntimeError):
    """The node refused a transaction whose max fee is below the latest block's base fee."""


class NonceTaken(RuntimeError):
    """The node refused a transaction because another one of the relayer's holds its nonce."""


class FeeCapReached(RuntimeError):
    """A stuck transaction would need fees above SKILLCHAIN_RELAYER_MAX_FEE_GWEI to be replaced."""


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

    def fees(self, *, cap: int, replacing: Fees | None = None) -> Fees:
        """Fees for a new attempt: twice the latest base fee plus the node's tip, capped at `cap`.
        Replacing a stuck attempt at the same nonce, at least 12.5% above it in both (nodes want 10%
        more to accept a replacement); FeeCapReached when that is above the cap."""
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tip = int(self.w3.eth.max_priority_fee)
        max_fee = 2 * base + tip
        if replacing is not None:
            tip = max(tip, replacing.tip + replacing.tip // 8 + 1)
            max_fee = max(max_fee, replacing.max_fee + replacing.max_fee // 8 + 1)
            if max_fee > cap:
                raise FeeCapReached(
                    f"replacing it needs a max fee of {max_fee} wei/gas, above the cap of {cap}"
                )
        max_fee = min(max_fee, cap)
        return Fees(max_fee=max_fee, tip=min(tip, max_fee))

    def _sign(self, fn: Any, nonce: int, fees: Fees | None = None) -> SignedTx:
        fees = fees or self.fees(cap=2**255)
        tx = fn.build_transaction(
            {
                "from": self.account.address,
                "nonce": nonce,
                "chainId": self.w3.eth.chain_id,
                "maxFeePerGas": fees.max_fee,
                "maxPriorityFeePerGas": fees.tip,
            }
        )
        signed = self.account.sign_transaction(tx)
        return SignedTx(
            raw="0x" + bytes(signed.raw_transaction).hex(),
            hash="0x" + bytes(signed.hash).hex(),
            nonce=nonce,
            fees=fees,
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
        fees: Fees | None = None,
    ) -> SignedTx:
        fn = self.escrow.functions.fundFor(
            client, provider, token, amounts, due_dates, review_window, arbiter, terms_digest, ref
        )
        return self._sign(fn, nonce, fees)

    def sign_dispute(self, engagement_id: int, nonce: int, fees: Fees | None = None) -> SignedTx:
        return self._sign(self.escrow.functions.raiseDispute(engagement_id), nonce, fees)

    def sign_withdraw_request(self, engagement_id: int, nonce: int, fees: Fees | None = None) -> SignedTx:
        """A chargeback before the provider accepted: take the request back (all of it to the relayer)."""
        return self._sign(self.escrow.functions.withdrawRequest(engagement_id), nonce, fees)

    def sign_withdraw(self, token: str, nonce: int, fees: Fees | None = None) -> SignedTx:
        """Pull what the escrow owes the relayer in `token` (refunds of card-funded engagements)."""
        return self._sign(self.escrow.functions.withdraw(Web3.to_checksum_address(token)), nonce, fees)

    def owed(self, token: str) -> int:
        return int(self.escrow.functions.owed(Web3.to_checksum_address(token), self.account.address).call())

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def mined_nonce(self) -> int:
        """How many of the relayer's transactions are mined (the next nonce a block will take)."""
        return int(self.w3.eth.get_transaction_count(self.account.address, "latest"))

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
            if "less than block base fee" in message:  # geth and anvil: it cannot be mined at this fee
                raise FeeTooLow(str(exc)) from None
            if "underpriced" in message or "nonce too low" in message:
                # A replacement of it (or it, replaced) holds the nonce: what is mined is found by hash.
                raise NonceTaken(str(exc)) from None
            raise

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        try:
            return dict(self.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def wait(self, tx_hash: str, timeout: float = 60.0) -> dict[str, Any]:
        return dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout))  # type: ignore[arg-type]

    def wait_for(self, tx_hash: str, timeout: float) -> dict[str, Any] | None:
        """The receipt once mined within `timeout` seconds, else None (still pending, or stuck)."""
        try:
            return self.wait(tx_hash, timeout=timeout)
        except TimeExhausted:
            return None

    def ref_used(self, ref: bytes) -> bool:
        return bool(self.escrow.functions.isExternalRefUsed(ref).call())

    def ensure_allowance(self, token: str, amount: int) -> None:
        erc20 = self.w3.eth.contract(address=Web3.to_checksum_address(token), abi=self.erc20_abi)
        if erc20.functions.allowance(self.account.address, self.escrow.address).call() >= amount:
            return
        tx = self._sign(erc20.functions.approve(self.escrow.address, 2**256 - 1), self.next_nonce())
        self.broadcast(tx)
        self.wait(tx.hash)
