"""Ready-to-sign transactions for wallets: the API never holds a user's key. Each builder returns
{to, data, value, chainId} for the deployment of one chain; the wallet signs and sends it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from web3 import Web3

from chain.artifacts import load_artifact
from chain.records import DeploymentRecord


class PreparedTx(BaseModel):
    """A transaction for the wallet to sign (EIP-1193 `eth_sendTransaction` shape)."""

    to: str
    data: str
    value: str  # hex wei
    chainId: int
    description: str


class TxBuilder:
    def __init__(self, record: DeploymentRecord) -> None:
        self.record = record
        self._w3 = Web3()
        self._contracts: dict[str, Any] = {}

    def _contract(self, name: str) -> Any:
        if name not in self._contracts:
            self._contracts[name] = self._w3.eth.contract(
                address=Web3.to_checksum_address(self.record.address_of(name)), abi=load_artifact(name).abi
            )
        return self._contracts[name]

    def build(
        self, contract: str, function: str, args: list[Any], *, value: int = 0, description: str
    ) -> PreparedTx:
        c = self._contract(contract)
        data = c.encode_abi(function, args=args)
        return PreparedTx(
            to=c.address, data=data, value=hex(value), chainId=self.record.chain_id, description=description
        )

    def address(self, contract: str) -> str:
        return str(Web3.to_checksum_address(self.record.address_of(contract)))
