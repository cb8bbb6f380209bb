"""Every official EIP-4361 vector through the pure layer, the EIP-1271 vectors on anvil, and the
clock-skew boundaries at +/-1 s."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account

from api.auth import siwe
from api.auth.eip1271 import RpcEip1271Checker
from chain.toolchain import PROJECT_ROOT

# The official vectors, copied unchanged from ../shared/testdata/siwe (spruceid/siwe, MIT/Apache-2.0) so
# a clone tests the same data wherever it lives; the shared copy is preferred when it is beside us.
_SHARED = PROJECT_ROOT.parent / "shared" / "testdata" / "siwe"
VECTORS = (
    _SHARED if (_SHARED / "parsing_positive.json").exists() else PROJECT_ROOT / "tests" / "data" / "siwe"
)
FIELDS = {
    "domain": "domain",
    "address": "address",
    "statement": "statement",
    "uri": "uri",
    "version": "version",
    "chainId": "chain_id",
    "nonce": "nonce",
    "issuedAt": "issued_at",
    "expirationTime": "expiration_time",
    "notBefore": "not_before",
    "requestId": "request_id",
    "resources": "resources",
    "scheme": "scheme",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def fields_of(message: siwe.SiweMessage) -> dict[str, Any]:
    out = {key: getattr(message, attr) for key, attr in FIELDS.items()}
    out["resources"] = list(message.resources) or None
    return {k: v for k, v in out.items() if v is not None}


def build(fields: dict[str, Any]) -> siwe.SiweMessage:
    kwargs = {FIELDS[k]: (tuple(v) if k == "resources" else v) for k, v in fields.items() if k in FIELDS}
    return siwe.SiweMessage.build(**kwargs)


@pytest.mark.parametrize(("name", "case"), load("parsing_positive.json").items())
def test_parsing_positive(name: str, case: dict[str, Any]) -> None:
    parsed = siwe.parse_message(case["message"])
    expected = {
        k: v for k, v in case["fields"].items() if v is not None
    }  # one vector spells out scheme: null
    assert fields_of(parsed) == expected
    assert parsed.to_text() == case["message"]


@pytest.mark.parametrize(("name", "message"), load("parsing_negative.json").items())
def test_parsing_negative(name: str, message: str) -> None:
    with pytest.raises(siwe.MalformedMessage):
        siwe.parse_message(message)


@pytest.mark.parametrize(("name", "fields"), load("parsing_negative_objects.json").items())
def test_building_negative(name: str, fields: dict[str, Any]) -> None:
    with pytest.raises((siwe.MalformedMessage, TypeError)):
        build(fields)


def _verify_case(case: dict[str, Any]) -> siwe.SiweMessage:
    message = build(case)
    now = datetime.fromisoformat(case["time"].replace("Z", "+00:00")) if "time" in case else datetime.now(UTC)
    return siwe.verify(
        message.to_text(),
        case["signature"],
        domain=case.get("domainBinding", message.domain),
        nonce=case.get("matchNonce", message.nonce),
        now=now,
    )


@pytest.mark.parametrize(("name", "case"), load("verification_positive.json").items())
def test_verification_positive(name: str, case: dict[str, Any]) -> None:
    assert _verify_case(case).address == case["address"]


@pytest.mark.parametrize(("name", "case"), load("verification_negative.json").items())
def test_verification_negative(name: str, case: dict[str, Any]) -> None:
    with pytest.raises(siwe.SiweError):
        _verify_case(case)


# ------------------------------------------------------------------ EIP-1271 vectors on anvil


def _wallet_at(address: str, owner: str, project: Any, accounts: Any, chain: Any) -> None:
    """Put a wallet contract that checks its owner's signature at a vector's mainnet address."""
    template = accounts[0].deploy(project.TestSmartWallet, owner)
    code = chain.provider.web3.eth.get_code(template.address)
    chain.provider.make_request("anvil_setCode", [address, "0x" + bytes(code).hex()])
    chain.provider.make_request(
        "anvil_setStorageAt", [address, "0x0", "0x" + owner[2:].lower().rjust(64, "0")]
    )


@pytest.mark.parametrize(("name", "case"), load("eip1271.json").items())
def test_eip1271_vectors_on_anvil(
    name: str, case: dict[str, Any], project: Any, accounts: Any, chain: Any
) -> None:
    message = siwe.parse_message(case["message"])
    sig = bytes.fromhex(case["signature"][2:])
    digest = siwe.personal_message_hash(case["message"])
    owner = siwe.recover_address(digest, sig[:65])
    assert owner is not None and owner != message.address  # only the wallet contract can vouch for it
    # The vector's message names chain 1; the test maps chain 1 to the local anvil.
    checker = RpcEip1271Checker({message.chain_id: chain.provider.uri})
    verify = lambda: siwe.verify(  # noqa: E731
        case["message"],
        case["signature"],
        domain=message.domain,
        nonce=message.nonce,
        now=datetime(2022, 4, 20, tzinfo=UTC),
        eip1271=checker,
    )
    with pytest.raises(siwe.InvalidSignature):
        verify()  # no contract there yet
    _wallet_at(message.address, owner, project, accounts, chain)
    assert verify().address == message.address
    _wallet_at(message.address, Account.create().address, project, accounts, chain)  # wrong owner
    with pytest.raises(siwe.InvalidSignature):
        verify()


def test_eip1271_on_unknown_chain_fails_closed() -> None:
    checker = RpcEip1271Checker({})
    assert not checker(1, "0x" + "11" * 20, b"\x00" * 32, b"\x00" * 65)


# ------------------------------------------------------------------ clock skew boundaries (60 s)

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
SKEW = timedelta(seconds=60)


def signed(**fields: Any) -> tuple[str, str]:
    from tests.api.siwe_helpers import make_message

    return make_message("abcdefgh12345678", issued_at=fields.pop("issued_at", T0), **fields)


def check(message: str, signature: str, now: datetime) -> None:
    siwe.verify(
        message, signature, domain="127.0.0.1:8000", nonce="abcdefgh12345678", now=now, check_issued_at=True
    )


@pytest.mark.parametrize(("offset", "ok"), [(59, True), (60, True), (61, False)])
def test_issued_at_in_the_future_within_skew(offset: int, ok: bool) -> None:
    message, sig = signed(issued_at=T0 + timedelta(seconds=offset), expires_in=None)
    if ok:
        check(message, sig, T0)
    else:
        with pytest.raises(siwe.NotYetValid):
            check(message, sig, T0)


@pytest.mark.parametrize(("offset", "ok"), [(59, True), (60, False), (61, False)])
def test_expiration_time_plus_skew(offset: int, ok: bool) -> None:
    message, sig = signed(expires_in=timedelta(minutes=5))
    now = T0 + timedelta(minutes=5, seconds=offset)
    if ok:
        check(message, sig, now)
    else:
        with pytest.raises(siwe.Expired):
            check(message, sig, now)


@pytest.mark.parametrize(("offset", "ok"), [(-61, False), (-60, True), (-59, True)])
def test_not_before_minus_skew(offset: int, ok: bool) -> None:
    nbf = T0 + timedelta(minutes=2)
    message, sig = signed(not_before=siwe_iso(nbf))
    now = nbf + timedelta(seconds=offset)
    if ok:
        check(message, sig, now)
    else:
        with pytest.raises(siwe.NotYetValid):
            check(message, sig, now)


def siwe_iso(t: datetime) -> str:
    from tests.api.siwe_helpers import iso

    return iso(t)


def test_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(siwe.MalformedMessage, match="longer than"):
        siwe.parse_message("x" * (siwe.MAX_MESSAGE_BYTES + 1))
