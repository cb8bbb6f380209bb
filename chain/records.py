"""Deployment records: which contracts live where on which chain, and how they were built.

Local chains (anvil: chain id 31337 or 1337) keep their records in the data folder, because a local
chain is disposable; testnet and mainnet records are committed under ``deployments/<chainId>.json``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

LOCAL_CHAIN_IDS = frozenset({31337, 1337})


class ContractRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    block_number: int
    transaction_hash: str
    abi_hash: str


class CompilerRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    settings: dict[str, Any]


class DeploymentRecord(BaseModel):
    """Everything a verifier, the indexer or a redeploy needs to know about one deployment."""

    model_config = ConfigDict(extra="forbid")

    chain_id: int
    genesis_hash: str
    deployer: str
    deployed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    compiler: CompilerRecord
    contracts: dict[str, ContractRecord]
    parameters: dict[str, Any] = Field(default_factory=dict)

    @property
    def start_block(self) -> int:
        """The first block the indexer must read: the earliest deployment block."""
        return min(c.block_number for c in self.contracts.values())

    def address_of(self, name: str) -> str:
        return self.contracts[name].address


def record_path(chain_id: int, *, data_dir: Path, deployments_dir: Path) -> Path:
    folder = data_dir / "deployments" if chain_id in LOCAL_CHAIN_IDS else deployments_dir
    return folder / f"{chain_id}.json"


def load_record(path: Path) -> DeploymentRecord | None:
    if not path.exists():
        return None
    return DeploymentRecord.model_validate_json(path.read_text())


def save_record(record: DeploymentRecord, path: Path) -> None:
    """Write atomically: a crash mid-write never leaves a half record behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(record.model_dump_json(indent=2) + "\n")
    tmp.replace(path)
