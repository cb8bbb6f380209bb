"""UnixFS files as Kubo's `ipfs add` builds them: fixed 256 KiB chunks, a balanced DAG of dag-pb nodes
with at most 174 links each; Cidv0 with dag-pb leaves by default, Cidv1 with raw leaves on request.

There is no well-kept Python dag-pb/UnixFS encoder, so the two small protobuf messages are written by
hand here (field order and presence exactly as go-unixfs writes them); Cid and multihash handling
comes from the `multiformats` library. Tests compare against known Kubo Cids and against the JS
importer used by IPFS implementations (`ipfs-unixfs-importer`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ipfs.cid import CHUNK_SIZE, DAG_PB, RAW, Cid, make_cid
from ipfs.errors import IpfsError

MAX_LINKS = 174  # Kubo's balanced layout: links per node
UNIXFS_FILE = 2


class MalformedNode(IpfsError):
    """Raised when a dag-pb/UnixFS block cannot be decoded."""


# ------------------------------------------------------------------ protobuf, the two messages we need


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field_number: int, wire_type: int) -> bytes:
    return _varint((field_number << 3) | wire_type)


def _len_prefix(field_number: int, length: int) -> bytes:
    return _key(field_number, 2) + _varint(length)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise MalformedNode("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise MalformedNode("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise MalformedNode("truncated field")
            yield number, wire, buf[pos : pos + length]
            pos += length
        else:
            raise MalformedNode(f"unsupported wire type {wire}")


@dataclass(frozen=True)
class Link:
    cid: Cid
    tsize: int  # cumulative serialized size of the child's subtree
    filesize: int  # bytes of file data under the child


def unixfs_data(*, data: bytes | None, filesize: int, blocksizes: list[int]) -> bytes:
    """UnixFS `Data` message: Type=File, optional Data, filesize, blocksizes (unpacked)."""
    out = _key(1, 0) + _varint(UNIXFS_FILE)
    if data is not None:
        out += _len_prefix(2, len(data)) + data
    out += _key(3, 0) + _varint(filesize)
    for size in blocksizes:
        out += _key(4, 0) + _varint(size)
    return out


def pb_node(links: list[Link], data: bytes) -> bytes:
    """dag-pb `PBNode`: Links (field 2) first, then Data (field 1), as the canonical form requires."""
    out = bytearray()
    for link in links:
        cid_bytes = bytes(link.cid)
        body = (
            _len_prefix(1, len(cid_bytes)) + cid_bytes + _len_prefix(2, 0) + _key(3, 0) + _varint(link.tsize)
        )
        out += _len_prefix(2, len(body)) + body
    out += _len_prefix(1, len(data)) + data
    return bytes(out)


@dataclass(frozen=True)
class DecodedNode:
    links: list[tuple[Cid, int]]  # (child, tsize)
    data: bytes  # the UnixFS file bytes carried by this node itself
    filesize: int


def decode_pb_file_node(block: bytes) -> DecodedNode:
    """Decode a dag-pb block holding a UnixFS file node."""
    links: list[tuple[Cid, int]] = []
    unixfs = b""
    for number, wire, value in _fields(block):
        if number == 2 and wire == 2 and isinstance(value, bytes):
            child: Cid | None = None
            tsize = 0
            for n, w, v in _fields(value):
                if n == 1 and w == 2 and isinstance(v, bytes):
                    child = Cid.from_bytes(v)
                elif n == 3 and w == 0 and isinstance(v, int):
                    tsize = v
            if child is None:
                raise MalformedNode("link without a hash")
            links.append((child, tsize))
        elif number == 1 and wire == 2 and isinstance(value, bytes):
            unixfs = value
    file_type, data, filesize = None, b"", 0
    for number, _wire, value in _fields(unixfs):
        if number == 1 and isinstance(value, int):
            file_type = value
        elif number == 2 and isinstance(value, bytes):
            data = value
        elif number == 3 and isinstance(value, int):
            filesize = value
    if file_type not in (UNIXFS_FILE, 0):  # 0 = Raw, written by very old go-ipfs for leaves
        raise MalformedNode(f"UnixFS type {file_type} is not a file")
    return DecodedNode(links=links, data=data, filesize=filesize)


# ------------------------------------------------------------------ building


@dataclass(frozen=True)
class Block:
    cid: Cid
    parts: tuple[bytes, ...]  # the block's bytes, in pieces to avoid copying 256 KiB chunks

    @property
    def data(self) -> bytes:
        return b"".join(self.parts)

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts)


BlockSink = Callable[[Block], None]


def _digest(parts: tuple[bytes, ...]) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.digest()


@dataclass
class FileBuilder:
    """Streams chunks in, emits blocks to `sink` as soon as they are complete (constant memory)."""

    cid_version: int = 0
    sink: BlockSink | None = None
    _levels: list[list[Link]] = field(default_factory=list)
    _size: int = 0

    @property
    def raw_leaves(self) -> bool:
        return self.cid_version == 1  # Kubo turns raw leaves on with --cid-version 1

    def _emit(self, codec: str, parts: tuple[bytes, ...]) -> Cid:
        cid = make_cid(self.cid_version, codec, _digest(parts))
        if self.sink is not None:
            self.sink(Block(cid, parts))
        return cid

    def _leaf(self, chunk: bytes) -> Link:
        if self.raw_leaves:
            return Link(self._emit("raw", (chunk,)), len(chunk), len(chunk))
        # PBNode{Data: UnixFS{Type=File, Data=chunk, filesize}}, built in pieces so the chunk is not copied.
        unixfs_head = _key(1, 0) + _varint(UNIXFS_FILE) + _len_prefix(2, len(chunk))
        unixfs_tail = _key(3, 0) + _varint(len(chunk))
        head = _len_prefix(1, len(unixfs_head) + len(chunk) + len(unixfs_tail))
        parts = (head + unixfs_head, chunk, unixfs_tail)
        size = sum(len(p) for p in parts)
        return Link(self._emit("dag-pb", parts), size, len(chunk))

    def _internal(self, links: list[Link]) -> Link:
        filesize = sum(link.filesize for link in links)
        data = unixfs_data(data=None, filesize=filesize, blocksizes=[link.filesize for link in links])
        block = pb_node(links, data)
        cid = self._emit("dag-pb", (block,))
        return Link(cid, len(block) + sum(link.tsize for link in links), filesize)

    def _push(self, level: int, link: Link) -> None:
        while len(self._levels) <= level:
            self._levels.append([])
        self._levels[level].append(link)
        if len(self._levels[level]) == MAX_LINKS:
            full, self._levels[level] = self._levels[level], []
            self._push(level + 1, self._internal(full))

    def write_chunk(self, chunk: bytes) -> None:
        self._size += len(chunk)
        self._push(0, self._leaf(chunk))

    def finish(self) -> tuple[Cid, int]:
        """Close the tree exactly as Kubo's balanced layout would; return (root Cid, file size)."""
        if not any(self._levels):
            if self.raw_leaves:
                return self._emit("raw", (b"",)), 0
            empty = pb_node([], unixfs_data(data=None, filesize=0, blocksizes=[]))
            return self._emit("dag-pb", (empty,)), 0
        level = 0
        while True:
            pending = self._levels[level]
            higher = any(self._levels[level + 1 :])
            if not higher and len(pending) == 1:
                return pending[0].cid, self._size
            if pending:
                self._levels[level] = []
                self._push(level + 1, self._internal(pending))
            level += 1


def read_chunks(stream: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Fixed-size chunks (the last may be shorter), even from streams that return short reads."""
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        while len(chunk) < size:
            more = stream.read(size - len(chunk))
            if not more:
                break
            chunk += more
        yield chunk
        if len(chunk) < size:
            return


def add_stream(stream: BinaryIO, *, cid_version: int = 0, sink: BlockSink | None = None) -> tuple[Cid, int]:
    builder = FileBuilder(cid_version=cid_version, sink=sink)
    for chunk in read_chunks(stream):
        builder.write_chunk(chunk)
    return builder.finish()


def add_bytes(data: bytes, *, cid_version: int = 0, sink: BlockSink | None = None) -> Cid:
    builder = FileBuilder(cid_version=cid_version, sink=sink)
    for start in range(0, len(data), CHUNK_SIZE):
        builder.write_chunk(data[start : start + CHUNK_SIZE])
    return builder.finish()[0]


def is_raw(cid: Cid) -> bool:
    return cid.codec == RAW


def is_dag_pb(cid: Cid) -> bool:
    return cid.codec == DAG_PB
