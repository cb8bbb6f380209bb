"""Errors of the chain package."""

from __future__ import annotations


class ChainError(Exception):
    """Root of every error raised by the chain package."""


class CompileError(ChainError):
    """Raised when the Solidity compiler rejects the contracts; the message is the compiler's own."""


class ArtifactsMissing(ChainError):
    """Raised when compiled artifacts are needed but the contracts were never compiled."""


class ChainUnavailable(ChainError):
    """Raised when the JSON-RPC endpoint cannot be reached or answers garbage."""


class LocalChainError(ChainError):
    """Raised when the local anvil cannot be started (missing binary, port in use, crash)."""


class MissingReviewMinimum(ChainError):
    """Raised when an allowed token has no review minimum: its engagements could never be reviewed."""


class TxWouldRevert(ChainError):
    """Raised when a prepared transaction, simulated from its signer, would revert on-chain.

    `error` is the custom error's name (or "Error"/"Panic"), `fields` its decoded fields, `notice` the
    contract's own explanation in words."""

    def __init__(self, contract: str, error: str, args: dict[str, object], notice: str) -> None:
        self.contract, self.error, self.fields, self.notice = contract, error, args, notice
        fields = ", ".join(f"{k}={v}" for k, v in args.items())
        super().__init__(f"{contract} would refuse this: {error}({fields}){' — ' + notice if notice else ''}")
