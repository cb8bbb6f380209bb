"""Verify a credential straight from a JSON-RPC endpoint and an IPFS gateway — no Skillchain server.
The gateway is not trusted either: the metadata must hash to the token id."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from web3 import Web3

from chain.artifacts import load_artifact
from chain.credential_check import OnChainProof, Verdict, verdict


class CouldNotCheck(Exception):
    """Raised when the chain or the gateway could not be asked (as opposed to a negative answer)."""


def gateway_fetcher(gateway: str, timeout: float = 20.0) -> Callable[[str], bytes | None]:
    def fetch(cid: str) -> bytes | None:
        try:
            response = httpx.get(
                f"{gateway.rstrip('/')}/ipfs/{cid}",
                params={"format": "raw"},
                timeout=timeout,
                headers={"Accept": "application/vnd.ipld.raw"},
            )
        except httpx.HTTPError as exc:
            raise CouldNotCheck(f"gateway {gateway} unreachable: {exc}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CouldNotCheck(f"gateway {gateway} answered {response.status_code}")
        return response.content

    return fetch


def verify_direct(
    *,
    chain_id: int,
    token_id: int,
    rpc_url: str,
    contract: str,
    fetch: Callable[[str], bytes | None],
    from_block: int = 0,
) -> Verdict:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 20}))
    try:
        actual = w3.eth.chain_id
    except Exception as exc:  # noqa: BLE001 - any transport failure means we could not ask
        raise CouldNotCheck(f"RPC {rpc_url} unreachable: {exc}") from None
    if actual != chain_id:
        raise CouldNotCheck(f"RPC {rpc_url} serves chain {actual}, not {chain_id}")
    credential = w3.eth.contract(
        address=Web3.to_checksum_address(contract), abi=load_artifact("SkillCredential").abi
    )
    v = credential.functions.verify(token_id).call()
    exists, holder, issuer, skill_id, issued_at, expires_at, revoked, _valid, accredited, engagement_id = v
    if not exists:
        return verdict(chain_id=chain_id, token_id=token_id, found=False)
    logs = credential.events.CredentialIssued.get_logs(
        from_block=from_block, to_block="latest", argument_filters={"tokenId": token_id}
    )
    issued = logs[-1] if logs else None
    revoked_logs = (
        credential.events.CredentialRevoked.get_logs(
            from_block=from_block, to_block="latest", argument_filters={"tokenId": token_id}
        )
        if revoked
        else []
    )
    return verdict(
        chain_id=chain_id,
        token_id=token_id,
        found=True,
        holder=holder,
        issuer=issuer,
        issuer_accredited=accredited,
        skill_id="0x" + bytes(skill_id).hex(),
        issued_at=issued_at,
        expires_at=expires_at,
        revoked=revoked,
        revoke_reason_digest=("0x" + bytes(revoked_logs[-1].args.reasonDigest).hex())
        if revoked_logs
        else None,
        engagement_id=int(engagement_id),
        fetch=fetch,
        now=int(w3.eth.get_block("latest")["timestamp"]),
        proof=OnChainProof(
            chain_id=chain_id,
            contract=credential.address,
            block_number=issued.blockNumber if issued else None,
            transaction=("0x" + bytes(issued.transactionHash).hex().removeprefix("0x")) if issued else None,
        ),
    )
