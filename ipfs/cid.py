"""CIDs, and the mapping between the contracts' 32-byte digests and CIDs.

A metadata document of at most 256 KiB is one block. `ipfs add --cid-version 1 --raw-leaves` gives
it the CIDv1 with the raw codec (0x55) and a sha2-256 multihash of the file's bytes, so:

    digest = sha256(document)                       # what the contracts store (bytes32)
    cid    = "b" + base32(0x01 0x55 0x12 0x20 || digest)   # "bafkrei..."
    digest = cid bytes [4:36]                       # and back
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import base58
from multiformats import CID as _MfCid

from ipfs.errors import DocumentTooLarge, InvalidCid

CHUNK_SIZE = 256 * 1024  # Kubo's default fixed-size chunker
MAX_DOCUMENT_SIZE = CHUNK_SIZE
RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12


_CODEC_NAMES = {RAW: "raw", DAG_PB: "dag-pb"}
_CODEC_CODES = {name: code for code, name in _CODEC_NAMES.items()}
_MH_PREFIX = bytes([SHA2_256, 32])


@dataclass(frozen=True, slots=True)
class Cid:
    """A sha2-256 CID (v0, or v1 with the raw or dag-pb codec), light enough for the hot path.

    multiformats' CID validates every field on construction (about half a millisecond), which would
    cost more than hashing a 256 KiB chunk; this class builds and prints CIDs directly and uses
    multiformats only to parse strings in bases other than base58btc and base32.
    """

    version: int
    codec: int
    digest: bytes

    def __bytes__(self) -> bytes:
        if self.version == 0:
            return _MH_PREFIX + self.digest
        return bytes([1, self.codec]) + _MH_PREFIX + self.digest  # both codecs fit one varint byte

    def __str__(self) -> str:
        if self.version == 0:
            return str(base58.b58encode(bytes(self)).decode())
        return "b" + base64.b32encode(bytes(self)).decode().lower().rstrip("=")

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES[self.codec]

    def v1_key(self) -> str:
        """The CIDv1 base32 string of the same block (one storage key whatever form was given)."""
        return "b" + base64.b32encode(
            bytes([1, self.codec]) + _MH_PREFIX + self.digest
        ).decode().lower().rstrip("=")

    @classmethod
    def from_bytes(cls, data: bytes) -> Cid:
        cid, used = cls.read(data)
        if used != len(data):
            raise InvalidCid("trailing bytes after CID")
        return cid

    @classmethod
    def read(cls, data: bytes) -> tuple[Cid, int]:
        """Parse a binary CID at the start of `data`; return it and the bytes it used."""
        if len(data) < 34:
            raise InvalidCid("too short for a sha2-256 CID")
        if data[:2] == _MH_PREFIX:
            if len(data) < 34:
                raise InvalidCid("truncated CIDv0")
            return cls(0, DAG_PB, bytes(data[2:34])), 34
        if len(data) >= 36 and data[0] == 1 and data[1] in _CODEC_NAMES and data[2:4] == _MH_PREFIX:
            return cls(1, data[1], bytes(data[4:36])), 36
        raise InvalidCid("not a sha2-256 CIDv0/CIDv1 with raw or dag-pb codec")


def make_cid(version: int, codec: str, digest: bytes) -> Cid:
    return Cid(version, _CODEC_CODES[codec] if version == 1 else DAG_PB, digest)


def canonical(cid: Cid) -> str:
    """The form Kubo prints: base58btc for CIDv0, base32 for CIDv1."""
    return str(cid)


def parse_cid(text: str) -> Cid:
    """Parse a CID string; raise InvalidCid with the reason if it is not one we serve."""
    try:
        if text.startswith("Qm") and len(text) == 46:
            raw = base58.b58decode(text)
        elif text.startswith("b") and text[1:].isalnum():
            body = text[1:].upper()
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        else:
            raw = bytes(_MfCid.decode(text))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise InvalidCid(f"{text!r} is not a valid CID: {exc or type(exc).__name__}") from None
    try:
        return Cid.from_bytes(raw)
    except InvalidCid as exc:
        raise InvalidCid(f"{text!r}: {exc}") from None


def cid_digest(cid: Cid) -> bytes:
    """The sha2-256 digest inside a CID's multihash."""
    return cid.digest


def digest_to_cid(digest: bytes) -> str:
    """The raw-codec CIDv1 of a single-block document whose sha2-256 digest is `digest`."""
    if len(digest) != 32:
        raise ValueError(f"a sha2-256 digest is 32 bytes, got {len(digest)}")
    return str(Cid(1, RAW, digest))


def cid_to_digest(text: str) -> bytes:
    """The digest the contracts store for a raw-codec sha2-256 CID (the inverse of digest_to_cid)."""
    cid = parse_cid(text)
    if cid.codec != RAW:
        raise InvalidCid(f"{text!r} is not a raw-codec CID, so it is not a single-block document")
    return cid.digest


def document_digest(document: bytes) -> bytes:
    """sha2-256 of a metadata document, refusing documents larger than one block."""
    if len(document) > MAX_DOCUMENT_SIZE:
        raise DocumentTooLarge(len(document), MAX_DOCUMENT_SIZE)
    return hashlib.sha256(document).digest()


def document_cid(document: bytes) -> str:
    return digest_to_cid(document_digest(document))
