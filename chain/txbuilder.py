"""Ready-to-sign transactions for wallets: the API never holds a user's key. Each builder returns
{to, data, value, chainId} for the deployment of one chain; the wallet signs and sends it."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from pydantic import BaseModel, Field
from web3 import Web3

from chain.artifacts import load_artifact
from chain.errors import TxWouldRevert
from chain.records import DeploymentRecord
from chain.simulate import decode_revert, revert_data

_APPROVE = bytes.fromhex("095ea7b3")  # approve(address,uint256)
_ALLOWANCE = bytes.fromhex("dd62ed3e")  # allowance(address,address)


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
        assume_allowance: str | None = None,
    ) -> PreparedTx:
        """`assume_allowance` (a token address): simulate as if `sender` had already approved
        `contract` for any amount of that token — the approval is the transaction sent first."""
        c = self._contract(contract)
        data = c.encode_abi(function, args=args)
        overrides = None
        if sender is not None and assume_allowance is not None:
            overrides = self._allowance_override(assume_allowance, sender, c.address)
            if overrides is None:  # the allowance's slot could not be found: do not guess
                sender = None
        simulated = sender is not None and self._simulate(contract, sender, c.address, data, value, overrides)
        return PreparedTx(
            to=c.address,
            data=data,
            value=hex(value),
            chainId=self.record.chain_id,
            description=description,
            simulated=simulated,
        )

    def approval(self, token: str, owner: str, spender_contract: str, amount: int) -> PreparedTx | None:
        """The ERC-20 `approve` the owner must send before paying `amount` to `spender_contract`, or
        None when the current allowance already covers it. Without an RPC it is always returned."""
        spender = self.address(spender_contract)
        current = self._allowance(token, owner, spender)
        if current is not None and current >= amount:
            return None
        data = "0x" + (_APPROVE + encode(["address", "uint256"], [spender, amount])).hex()
        ok = self._simulate("ERC20", owner, token, data, 0)
        return PreparedTx(
            to=Web3.to_checksum_address(token),
            data=data,
            value="0x0",
            chainId=self.record.chain_id,
            description=f"Allow {spender_contract} to take {amount} base units of this token (send first)",
            simulated=ok,
        )

    def _eth_call(self, call: dict[str, Any], overrides: dict[str, Any] | None = None) -> bytes | None:
        if self._rpc is None:
            return None
        params: list[Any] = [call, "latest"] + ([overrides] if overrides else [])
        try:
            response = self._rpc.make_request("eth_call", params)
        except Exception:  # noqa: BLE001 - transport failure
            return None
        result = response.get("result")
        if response.get("error") or not isinstance(result, str):
            return None
        return bytes.fromhex(result[2:])

    def _allowance(
        self, token: str, owner: str, spender: str, overrides: dict[str, Any] | None = None
    ) -> int | None:
        data = "0x" + (_ALLOWANCE + encode(["address", "address"], [owner, spender])).hex()
        raw = self._eth_call({"to": token, "data": data}, overrides)
        return int.from_bytes(raw[:32], "big") if raw and len(raw) >= 32 else None

    def _allowance_override(self, token: str, owner: str, spender: str) -> dict[str, Any] | None:
        """A state override giving `spender` an unlimited allowance from `owner`.

        Tokens keep allowances in different slots (OpenZeppelin's mapping, a proxy's namespaced
        storage, ...): the storage keys `allowance(owner, spender)` reads are found with
        eth_createAccessList, and the one that makes `allowance` answer the maximum is used.
        """
        if self._rpc is None:
            return None
        data = "0x" + (_ALLOWANCE + encode(["address", "address"], [owner, spender])).hex()
        try:
            response = self._rpc.make_request(
                "eth_createAccessList",
                [{"from": owner, "to": token, "data": data}, "latest"],
            )
        except Exception:  # noqa: BLE001
            return None
        entries = (response.get("result") or {}).get("accessList") or []
        token_cs = Web3.to_checksum_address(token)
        maximum = "0x" + "ff" * 32
        for entry in entries:
            if Web3.to_checksum_address(entry["address"]) != token_cs:
                continue
            for key in entry.get("storageKeys", []):
                override: dict[str, Any] = {str(token_cs): {"stateDiff": {key: maximum}}}
                if self._allowance(token, owner, spender, override) == 2**256 - 1:
                    return override
        return None

    def _simulate(
        self,
        contract: str,
        sender: str,
        to: str,
        data: str,
        value: int,
        overrides: dict[str, Any] | None = None,
    ) -> bool:
        """True when the call succeeds; raises TxWouldRevert when it reverts; False when the RPC could
        not be asked."""
        if self._rpc is None:
            return False
        call = {"from": sender, "to": to, "data": data, "value": hex(value)}
        params: list[Any] = [call, "latest"] + ([overrides] if overrides else [])
        try:
            response = self._rpc.make_request("eth_call", params)
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
