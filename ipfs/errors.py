"""Errors of the ipfs package."""

from __future__ import annotations


class IpfsError(Exception):
    """Root of every error raised by the ipfs package."""


class InvalidCid(IpfsError):
    """Raised when a string is not a CID this package understands."""


class BlockNotFound(IpfsError):
    """Raised when a block is not in the store."""

    def __init__(self, cid: str) -> None:
        super().__init__(f"block {cid} not found")
        self.cid = cid


class BlockCorrupted(IpfsError):
    """Raised when a stored block no longer hashes to its CID; it is never served."""

    def __init__(self, cid: str) -> None:
        super().__init__(f"block {cid} is corrupted: its content does not hash to its CID")
        self.cid = cid


class DocumentTooLarge(IpfsError):
    """Raised when a metadata document exceeds one block (256 KiB) and so has no single digest."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"metadata document is {size} bytes; at most {limit} bytes fit one block, the form whose "
            "sha2-256 digest the contracts store"
        )
        self.size = size
        self.limit = limit


class InvalidCar(IpfsError):
    """Raised when a CAR file is malformed or a block in it does not match its CID."""


class KuboError(IpfsError):
    """Raised when a Kubo node's RPC API answers with an error or cannot be reached."""
