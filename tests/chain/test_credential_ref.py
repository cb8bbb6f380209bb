"""Credential names: CAIP-19, share links and chain:token pairs."""

from __future__ import annotations

import pytest

from chain.credential_ref import BadCredentialRef, CredentialRef, parse_credential_ref

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_caip19_share_link_and_pair() -> None:
    assert parse_credential_ref(f"eip155:31337/erc721:{CONTRACT.lower()}/42") == CredentialRef(
        31337, 42, CONTRACT
    )
    link = f"https://skillchain.example/verify/credential/11155111/7?contract={CONTRACT}"
    assert parse_credential_ref(link) == CredentialRef(11155111, 7, CONTRACT)
    assert parse_credential_ref("31337:9") == CredentialRef(31337, 9, None)
    assert CredentialRef(1, 2, CONTRACT).caip19 == f"eip155:1/erc721:{CONTRACT}/2"


@pytest.mark.parametrize(
    "text",
    ["", "31337", "eip155:1/erc20:0x00/1", "https://x.example/verify/credential/1/2?contract=nope", "a:b"],
)
def test_anything_else_is_refused_with_the_forms_that_work(text: str) -> None:
    with pytest.raises(BadCredentialRef):
        parse_credential_ref(text)
