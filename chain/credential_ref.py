"""Naming a credential the way the ecosystem does, so a verifier needs nothing else: a CAIP-19 asset id
(`eip155:<chainId>/erc721:<contract>/<tokenId>`), the share link the API hands out
(`https://…/verify/credential/<chainId>/<tokenId>?contract=<address>`), or `<chainId>:<tokenId>`
(which needs the contract from a deployment record or `--contract`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from eth_utils.address import is_address, to_checksum_address

# ASCII digits only: Python's \d (and int()) also take Arabic-Indic and other digits, so a lookalike
# "٣١٣٣٧:…" would name a real credential while reading as something else.
_CAIP19 = re.compile(r"^eip155:([0-9]{1,20})/erc721:(0x[0-9a-fA-F]{40})/([0-9]{1,78})$")
_SHARE_PATH = re.compile(r"/verify/credential/([0-9]{1,20})/([0-9]{1,78})/?$")
_PAIR = re.compile(r"^([0-9]{1,20}):([0-9]{1,78})$")


@dataclass(frozen=True)
class CredentialRef:
    chain_id: int
    token_id: int
    contract: str | None  # None: look it up in the deployment record

    @property
    def caip19(self) -> str | None:
        return f"eip155:{self.chain_id}/erc721:{self.contract}/{self.token_id}" if self.contract else None


class BadCredentialRef(ValueError):
    """Raised when a text names no credential; the message shows the forms that do."""


def caip19(chain_id: int, contract: str, token_id: int) -> str:
    return f"eip155:{chain_id}/erc721:{to_checksum_address(contract)}/{token_id}"


def parse_credential_ref(text: str) -> CredentialRef:
    text = text.strip()
    if m := _CAIP19.match(text):
        return CredentialRef(int(m.group(1)), int(m.group(3)), to_checksum_address(m.group(2)))
    if text.startswith(("http://", "https://")):
        url = urlparse(text)
        if m := _SHARE_PATH.search(url.path):
            given = parse_qs(url.query).get("contract")
            contract = given[0] if given else None
            if contract is not None and not is_address(contract):
                raise BadCredentialRef(f"the link's contract {contract!r} is not an address")
            return CredentialRef(
                int(m.group(1)), int(m.group(2)), to_checksum_address(contract) if contract else None
            )
    if m := _PAIR.match(text):
        return CredentialRef(int(m.group(1)), int(m.group(2)), None)
    raise BadCredentialRef(
        "name the credential as eip155:<chainId>/erc721:<contract>/<tokenId> (CAIP-19), as its share link "
        "(…/verify/credential/<chainId>/<tokenId>?contract=0x…), or as <chainId>:<tokenId>"
    )
