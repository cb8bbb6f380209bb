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
