"""Compiled contract artifacts (ABI, bytecode) read from ape's build manifest, without importing ape."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from chain.errors import ArtifactsMissing
from chain.toolchain import BUILD_MANIFEST

CORE_CONTRACTS = ("SkillEscrow", "Reputation", "SkillCredential")


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    source_id: str

    @property
    def abi_hash(self) -> str:
        """sha256 of the canonical ABI JSON: changes exactly when the interface changes."""
        canonical = json.dumps(self.abi, sort_keys=True, separators=(",", ":"))
        return "0x" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CompilerInfo:
    version: str
    settings: dict[str, Any]


def _manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ArtifactsMissing(f"no compiled contracts at {path}: run `skillchain compile`")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> dict[str, Any]:
    return _manifest(path)


def load_artifact(name: str, manifest: Path = BUILD_MANIFEST) -> Artifact:
    data = _load(manifest, manifest.stat().st_mtime if manifest.exists() else 0.0)
    try:
        ct = data["contractTypes"][name]
    except KeyError:
        raise ArtifactsMissing(f"contract {name} is not in {manifest}: run `skillchain compile`") from None
    return Artifact(
        name=name,
        abi=ct["abi"],
        bytecode=ct["deploymentBytecode"]["bytecode"],
        source_id=ct.get("sourceId", ""),
    )


def error_notices(name: str, manifest: Path = BUILD_MANIFEST) -> dict[str, str]:
    """The NatSpec `@notice` of each custom error of a contract, keyed by its signature."""
    data = _load(manifest, manifest.stat().st_mtime if manifest.exists() else 0.0)
    errors = data["contractTypes"].get(name, {}).get("userdoc", {}).get("errors", {})
    return {sig: entries[0].get("notice", "") for sig, entries in errors.items() if entries}


def compiler_info(manifest: Path = BUILD_MANIFEST) -> CompilerInfo:
    data = _load(manifest, manifest.stat().st_mtime if manifest.exists() else 0.0)
    for compiler in data.get("compilers", []):
        if compiler.get("name") == "solidity":
            settings = {k: v for k, v in compiler.get("settings", {}).items() if k != "outputSelection"}
            return CompilerInfo(version=compiler["version"], settings=settings)
    raise ArtifactsMissing(f"no Solidity compiler entry in {manifest}")
