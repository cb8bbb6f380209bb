"""EIP-4361 messages: a strict parser of the grammar and a pure verification function.

`verify(message, signature, *, domain, nonce, now)` checks the message against the expected domain
and nonce at time `now` and the signature: EOAs by secp256k1 recovery (libsecp256k1 via coincurve),
contract wallets by EIP-1271 through a caller-supplied checker for the message's chain. No network,
clock or database is touched here; the HTTP route supplies those.

The parser follows the ABNF of EIP-4361 line by line with RFC 3986 (URI, authority) and RFC 3339
(date-time) rules as regular expressions — linear time, unlike a general ABNF engine — and callers
must bound the message size before calling it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import coincurve
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

MAX_MESSAGE_BYTES = 8 * 1024
DEFAULT_SKEW = timedelta(seconds=60)

# ------------------------------------------------------------------ RFC 3986 / RFC 3339 building blocks

_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = (
    r"(?:"
    rf"(?:{_H16}:){{6}}{_LS32}"
    rf"|::(?:{_H16}:){{5}}{_LS32}"
    rf"|(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}"
    rf"|(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}"
    rf"|(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}"
    rf"|(?:(?:{_H16}:){{0,6}}{_H16})?::"
    r")"
)
_IPVFUTURE = rf"v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+"
_IP_LITERAL = rf"\[(?:{_IPV6}|{_IPVFUTURE})\]"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_HOST = rf"(?:{_IP_LITERAL}|{_IPV4}|{_REG_NAME})"
_USERINFO = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_AUTHORITY = rf"(?:{_USERINFO}@)?{_HOST}(?::[0-9]*)?"
_SEGMENT = rf"{_PCHAR}*"
_SEGMENT_NZ = rf"{_PCHAR}+"
_PATH_ABEMPTY = rf"(?:/{_SEGMENT})*"
_PATH_ABSOLUTE = rf"/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?"
_PATH_ROOTLESS = rf"{_SEGMENT_NZ}(?:/{_SEGMENT})*"
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_HIER_PART = rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_ROOTLESS}|)"
_QUERY = rf"(?:{_PCHAR}|[/?])*"
_URI = rf"{_SCHEME}:{_HIER_PART}(?:\?{_QUERY})?(?:#{_QUERY})?"
_DATE_TIME = (
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt]"
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)

URI_RE = re.compile(_URI)
AUTHORITY_RE = re.compile(_AUTHORITY)
DATE_TIME_RE = re.compile(_DATE_TIME)
_STATEMENT_RE = re.compile(rf"[{_UNRESERVED}{_SUB_DELIMS}:/?#\[\]@ ]+")
_NONCE_RE = re.compile(r"[A-Za-z0-9]{8,}")
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
_REQUEST_ID_RE = re.compile(rf"{_PCHAR}*")
_HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"


# ------------------------------------------------------------------ errors


class SiweError(Exception):
    """Root of sign-in errors; `reason` is a short machine-readable code."""

    reason = "invalid"


class MalformedMessage(SiweError):
    """Raised when the text is not an EIP-4361 message."""

    reason = "malformed_message"


class DomainMismatch(SiweError):
    """Raised when the message was made for another domain or URI."""

    reason = "domain_mismatch"


class NonceMismatch(SiweError):
    """Raised when the message's nonce is not the one expected."""

    reason = "nonce_mismatch"


class ChainNotAccepted(SiweError):
    """Raised when the message names a chain this server does not accept."""

    reason = "chain_not_accepted"


class NotYetValid(SiweError):
    """Raised before the message's Not Before time (or its Issued At lies in the future)."""

    reason = "not_yet_valid"


class Expired(SiweError):
    """Raised after the message's Expiration Time."""

    reason = "expired"


class InvalidSignature(SiweError):
    """Raised when the signature is not the address's (neither by recovery nor by EIP-1271)."""

    reason = "invalid_signature"


# ------------------------------------------------------------------ the message


def _parse_time(text: str, name: str) -> datetime:
    if not DATE_TIME_RE.fullmatch(text):
        raise MalformedMessage(f"{name} is not an RFC 3339 date-time: {text!r}")
    normalised = text.upper().replace("Z", "+00:00")
    if ":60" in normalised[17:20]:
        normalised = normalised[:17] + "59" + normalised[19:]  # leap second: the clock's last second
    try:
        return datetime.fromisoformat(normalised)
    except ValueError:
        raise MalformedMessage(f"{name} is not a valid calendar date-time: {text!r}") from None


@dataclass(frozen=True)
class SiweMessage:
    """A parsed EIP-4361 message. Times are kept both as text (as signed) and as datetimes."""

    domain: str
    address: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: str
    scheme: str | None = None
    statement: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def issued_at_dt(self) -> datetime:
        return _parse_time(self.issued_at, "Issued At")

    @property
    def expiration_dt(self) -> datetime | None:
        return _parse_time(self.expiration_time, "Expiration Time") if self.expiration_time else None

    @property
    def not_before_dt(self) -> datetime | None:
        return _parse_time(self.not_before, "Not Before") if self.not_before else None

    def to_text(self) -> str:
        """The exact text a wallet signs for these fields."""
        prefix = f"{self.scheme}://" if self.scheme else ""
        lines = [f"{prefix}{self.domain}{_HEADER_SUFFIX}", self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines.append("")
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {self.issued_at}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {self.expiration_time}")
        if self.not_before is not None:
            lines.append(f"Not Before: {self.not_before}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)

    @classmethod
    def build(cls, **fields: object) -> SiweMessage:
        """Build from fields and validate them exactly as parsing would."""
        message = cls(**fields)  # type: ignore[arg-type]
        return parse_message(message.to_text())


def _is_checksummed(address: str) -> bool:
    return bool(_ADDRESS_RE.fullmatch(address)) and to_checksum_address(address) == address


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message strictly; raise MalformedMessage naming the first problem."""
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"message longer than {MAX_MESSAGE_BYTES} bytes")
    lines = text.split("\n")
    pos = 0

    def take() -> str:
        nonlocal pos
        if pos >= len(lines):
            raise MalformedMessage("message ends early")
        line = lines[pos]
        pos += 1
        return line

    def tagged(tag: str) -> str:
        line = take()
        if not line.startswith(tag):
            raise MalformedMessage(f"expected '{tag}' at line {pos}, found {line[:40]!r}")
        return line[len(tag) :]

    header = take()
    if not header.endswith(_HEADER_SUFFIX):
        raise MalformedMessage("first line must end with '" + _HEADER_SUFFIX.strip() + "'")
    origin = header[: -len(_HEADER_SUFFIX)]
    scheme: str | None = None
    if "://" in origin:
        scheme, origin = origin.split("://", 1)
        if not re.fullmatch(_SCHEME, scheme):
            raise MalformedMessage(f"invalid scheme {scheme!r}")
    if not origin or not AUTHORITY_RE.fullmatch(origin):
        raise MalformedMessage(f"domain is not an RFC 3986 authority: {origin!r}")

    address = take()
    if not _is_checksummed(address):
        raise MalformedMessage(f"address is not an EIP-55 checksummed address: {address!r}")
    if take() != "":
        raise MalformedMessage("expected an empty line after the address")
    statement: str | None = None
    line = take()
    if line != "":
        if not _STATEMENT_RE.fullmatch(line):
            raise MalformedMessage("statement contains characters outside the allowed set")
        statement = line
        if take() != "":
            raise MalformedMessage("expected an empty line after the statement")

    uri = tagged("URI: ")
    if not URI_RE.fullmatch(uri):
        raise MalformedMessage(f"URI is not an RFC 3986 URI: {uri!r}")
    version = tagged("Version: ")
    if version != "1":
        raise MalformedMessage(f"version must be 1, got {version!r}")
    chain = tagged("Chain ID: ")
    if not chain.isascii() or not chain.isdigit():
        raise MalformedMessage(f"chain id must be decimal digits, got {chain!r}")
    nonce = tagged("Nonce: ")
    if not _NONCE_RE.fullmatch(nonce):
        raise MalformedMessage("nonce must be at least 8 alphanumeric characters")
    issued_at = tagged("Issued At: ")
    _parse_time(issued_at, "Issued At")

    optional: dict[str, str | None] = {"Expiration Time: ": None, "Not Before: ": None, "Request ID: ": None}
    order = list(optional)
    resources: list[str] = []
    while pos < len(lines):
        line = take()
        for i, tag in enumerate(order):
            if line.startswith(tag):
                optional[tag] = line[len(tag) :]
                order = order[i + 1 :]  # fields must come in order, each at most once
                break
        else:
            if line == "Resources:":
                while pos < len(lines):
                    item = take()
                    if not item.startswith("- ") or not URI_RE.fullmatch(item[2:]):
                        raise MalformedMessage(f"resource is not '- ' followed by an RFC 3986 URI: {item!r}")
                    resources.append(item[2:])
                break
            raise MalformedMessage(f"unexpected line {line[:40]!r}")
    expiration, not_before, request_id = optional.values()
    if expiration is not None:
        _parse_time(expiration, "Expiration Time")
    if not_before is not None:
        _parse_time(not_before, "Not Before")
    if request_id is not None and not _REQUEST_ID_RE.fullmatch(request_id):
        raise MalformedMessage("request id contains characters outside pchar")
    return SiweMessage(
        domain=origin,
        address=address,
        uri=uri,
        version=version,
        chain_id=int(chain),
        nonce=nonce,
        issued_at=issued_at,
        scheme=scheme,
        statement=statement,
        expiration_time=expiration,
        not_before=not_before,
        request_id=request_id,
        resources=tuple(resources),
    )


# ------------------------------------------------------------------ signatures


def personal_message_hash(text: str) -> bytes:
    """EIP-191 version 0x45 hash, what `personal_sign` signs."""
    data = text.encode()
    return bytes(keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data))


def recover_address(message_hash: bytes, signature: bytes) -> str | None:
    """The EOA that produced a 65-byte signature (v = 27/28 or 0/1), or None if it recovers nothing."""
    if len(signature) != 65:
        return None
    v = signature[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        return None
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v]), message_hash, hasher=None
        )
    except ValueError:
        return None
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


Eip1271Checker = Callable[[int, str, bytes, bytes], bool]
"""(chain_id, wallet address, message hash, signature) -> whether the wallet accepts the signature."""


def verify(
    message: str | SiweMessage,
    signature: str | bytes,
    *,
    domain: str,
    nonce: str | None,
    now: datetime,
    uri_origin: str | None = None,
    chain_ids: frozenset[int] | None = None,
    eip1271: Eip1271Checker | None = None,
    skew: timedelta = DEFAULT_SKEW,
    check_issued_at: bool = False,
) -> SiweMessage:
    """Verify a sign-in message; return it parsed, or raise the SiweError that says why not.

    Checks, in order: grammar, domain (and the URI's authority when `uri_origin` is given), chain id,
    nonce, Not Before / Expiration Time at `now` with `skew` of tolerance, signature. EIP-4361 and its
    official vectors accept an Issued At in the future (a vector verifies at a time before it), so that
    check is off here by default; the HTTP route turns it on (`check_issued_at`), where a message
    issued more than `skew` ahead of the server's clock is refused.
    """
    parsed = message if isinstance(message, SiweMessage) else parse_message(message)
    if parsed.domain != domain:
        raise DomainMismatch(f"message is for {parsed.domain!r}, this server is {domain!r}")
    if uri_origin is not None:
        # A web origin: http(s) only (javascript:// or data:// with the right "host" is not one).
        match = re.match(r"^(https?)://([^/?#]*)", parsed.uri, flags=re.IGNORECASE)
        if not match or match.group(2) != uri_origin:
            raise DomainMismatch(f"URI {parsed.uri!r} is not an http(s) URI on {uri_origin!r}")
    if chain_ids is not None and parsed.chain_id not in chain_ids:
        raise ChainNotAccepted(f"chain {parsed.chain_id} is not accepted (accepted: {sorted(chain_ids)})")
    if nonce is not None and parsed.nonce != nonce:
        raise NonceMismatch("nonce does not match")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if check_issued_at and parsed.issued_at_dt > now + skew:
        raise NotYetValid(f"issued at {parsed.issued_at}, in the future")
    not_before = parsed.not_before_dt
    if not_before is not None and now + skew < not_before:
        raise NotYetValid(f"not valid before {parsed.not_before}")
    expiration = parsed.expiration_dt
    if expiration is not None and now >= expiration + skew:
        raise Expired(f"expired at {parsed.expiration_time}")

    if isinstance(signature, str):
        try:
            sig = bytes.fromhex(signature.removeprefix("0x"))
        except ValueError:
            raise InvalidSignature("signature is not hex") from None
    else:
        sig = signature
    text = parsed.to_text() if isinstance(message, SiweMessage) else message
    digest = personal_message_hash(text)
    if recover_address(digest, sig) == parsed.address:
        return parsed
    if eip1271 is not None and eip1271(parsed.chain_id, parsed.address, digest, sig):
        return parsed
    raise InvalidSignature("signature does not belong to the address")
