"""Build and sign EIP-4361 messages with real secp256k1 keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct

from api.auth.siwe import SiweMessage

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil dev account 1
ADDRESS = Account.from_key(KEY).address


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def make_message(
    nonce: str,
    *,
    domain: str = "127.0.0.1:8000",
    chain_id: int = 31337,
    key: str = KEY,
    issued_at: datetime | None = None,
    expires_in: timedelta | None = timedelta(minutes=10),
    uri: str | None = None,
    **extra: object,
) -> tuple[str, str]:
    now = issued_at or datetime.now(UTC)
    message = SiweMessage(
        domain=domain,
        address=Account.from_key(key).address,
        statement="Sign in to Skillchain",
        uri=uri or f"http://{domain}",
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=iso(now),
        expiration_time=iso(now + expires_in) if expires_in else None,
        **extra,  # type: ignore[arg-type]
    ).to_text()
    signature = Account.sign_message(encode_defunct(text=message), key).signature.hex()
    return message, "0x" + signature.removeprefix("0x")
