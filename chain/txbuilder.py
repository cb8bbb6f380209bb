"""Ready-to-sign transactions for wallets: the API never holds a user's key. Each builder returns
{to, data, value, chainId} for the deployment of one chain; the wallet signs and sends it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from web3 import Web3

from chain.artifacts import load_artifact
from chain.errors import TxWouldRevert
from chain.records import DeploymentRecord
from chain.simulate import decode_revert, revert_data


class PreparedTx(BaseModel):
    """A transaction for the wallet to sign (EIP-1193 `eth_sendTransaction` shape)."""

    to: str
    data: str
    value: str  # hex wei
    chainId: int
    description: str
    simulated: bool = Field(
        False, description="true when an eth_call from the signer at the latest block succeeded"
    )


class TxBuilder:
    """Encodes calls for one deployment; with `rpc_url`, simulates each from its signer first and
    raises `TxWouldRevert` (the contract's custom error, decoded) instead of handing out a doomed
    transaction. An unreachable RPC does not block: the transaction comes back unsimulated."""

    def __init__(self, record: DeploymentRecord, rpc_url: str | None = None, timeout: float = 5.0) -> None:
        self.record = record
        self._w3 = Web3()
        self._contracts: dict[str, Any] = {}
        self._rpc = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}) if rpc_url else None

    def _contract(self, name: str) -> Any:
        if name not in self._contracts:
            self._contracts[name] = self._w3.eth.contract(
                address=Web3.to_checksum_address(self.record.address_of(name)), abi=load_artifact(name).abi
            )
        return self._contracts[name]

    def build(
        self,
        contract: str,
        function: str,
        args: list[Any],
        *,
        value: int = 0,
        description: str,
        sender: str | None = None,
    ) -> PreparedTx:
        c = self._contract(contract)
        data = c.encode_abi(function, args=args)
        simulated = sender is not None and self._simulate(contract, sender, c.address, data, value)
        return PreparedTx(
            to=c.address,
            data=data,
            value=hex(value),
            chainId=self.record.chain_id,
            description=description,
            simulated=simulated,
        )

    def _simulate(self, contract: str, sender: str, to: str, data: str, value: int) -> bool:
        """True when the call succeeds; raises TxWouldRevert when it reverts; False when the RPC could
        not be asked."""
        if self._rpc is None:
            return False
        call = {"from": sender, "to": to, "data": data, "value": hex(value)}
        try:
            response = self._rpc.make_request("eth_call", [call, "latest"])
        except Exception:  # noqa: BLE001 - any transport failure: hand out the transaction unsimulated
            return False
        error = response.get("error")
        if not error:
            return True
        payload = revert_data(dict(error)) if isinstance(error, dict) else None
        if payload is None:
            message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
            if "revert" in message.lower():
                raise TxWouldRevert(contract, "Error", {"reason": message}, message)
            return False  # not a revert (say, a node that refuses eth_call): do not block the user
        raise decode_revert(payload, contract)

    def address(self, contract: str) -> str:
        return str(Web3.to_checksum_address(self.record.address_of(contract)))
