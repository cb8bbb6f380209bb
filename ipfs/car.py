"""CAR v1 (Content Addressable aRchive): how content moves to Kubo (`ipfs dag import`) or a pinning service.

Layout: varint(len(header)) + DAG-CBOR header {"roots": [Cid], "version": 1}, then for each block
varint(len(cid) + len(data)) + cid bytes + data. The header is encoded with cbor2 (Cid = tag 42).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import cbor2

from ipfs.cid import Cid, cid_digest
from ipfs.errors import InvalidCar, InvalidCid

CAR_MEDIA_TYPE = "application/vnd.ipld.car"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _read_varint(stream: BinaryIO) -> int | None:
    result = shift = 0
    while True:
        b = stream.read(1)
        if not b:
            if shift == 0:
                return None
            raise InvalidCar("truncated varint")
        result |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise InvalidCar("varint too long")


def car_header(roots: list[Cid]) -> bytes:
    # DAG-CBOR map keys sort by length then bytes: "roots" before "version"; a Cid is tag 42.
    header = cbor2.dumps({"roots": [cbor2.CBORTag(42, b"\x00" + bytes(r)) for r in roots], "version": 1})
    return _varint(len(header)) + header


def write_car(roots: list[Cid], blocks: Iterable[tuple[Cid, bytes]]) -> Iterator[bytes]:
    """Yield a CAR v1 stream piece by piece (constant memory)."""
    yield car_header(roots)
    for cid, data in blocks:
        cid_bytes = bytes(cid)
        yield _varint(len(cid_bytes) + len(data)) + cid_bytes
        yield data


def _read_cid(section: bytes) -> tuple[Cid, int]:
    try:
        return Cid.read(section)
    except InvalidCid as exc:
        raise InvalidCar(f"block section does not start with a supported Cid: {exc}") from None


def read_car(stream: BinaryIO) -> tuple[list[Cid], Iterator[tuple[Cid, bytes]]]:
    """Parse a CAR v1 stream; every block is checked against its Cid as it is read."""
    header_len = _read_varint(stream)
    if header_len is None:
        raise InvalidCar("empty file")
    try:
        header = cbor2.loads(stream.read(header_len))
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise InvalidCar(f"bad header: {exc}") from None
    if not isinstance(header, dict) or header.get("version") != 1:
        raise InvalidCar("not a CAR v1 file")
    roots = [Cid.from_bytes(bytes(tag.value)[1:]) for tag in header.get("roots", [])]

    def blocks() -> Iterator[tuple[Cid, bytes]]:
        while True:
            length = _read_varint(stream)
            if length is None:
                return
            section = stream.read(length)
            if len(section) != length:
                raise InvalidCar("truncated block")
            cid, used = _read_cid(section)
            data = section[used:]
            if hashlib.sha256(data).digest() != cid_digest(cid):
                raise InvalidCar(f"block {cid} does not match its CID")
            yield cid, data

    return roots, blocks()
