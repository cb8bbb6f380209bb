"""Errors of the indexer: retryable ones are retried with backoff, fatal ones stop it."""

from __future__ import annotations


class IndexerError(Exception):
    """Root of every error raised by the indexer."""


class RetryableRpcError(IndexerError):
    """Raised for a transient RPC failure (timeout, 429, 5xx); retried with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RangeTooLarge(IndexerError):
    """Raised when a provider refuses an eth_getLogs range (too many results or blocks); it is split."""


class FatalRpcError(IndexerError):
    """Raised when the RPC keeps failing or answers something unusable."""


class ReorgTooDeep(IndexerError):
    """Raised when the chain diverged below the finality depth: the read model cannot be trusted."""

    def __init__(self, block_number: int, depth: int) -> None:
        super().__init__(
            f"reorg below block {block_number} goes deeper than the finality depth ({depth} blocks); "
            "stopping. Re-index from scratch (`skillchain index --reset`) once the chain is stable."
        )
        self.block_number = block_number
        self.depth = depth


class LeaderLockHeld(IndexerError):
    """Raised when another indexer already writes this database."""
