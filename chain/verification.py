"""Standard-JSON compiler inputs for Etherscan / Sourcify verification, exactly as the contracts were
compiled: the same source unit names, remappings and settings as ape-solidity used (read from the
build manifest), so the metadata hash — and therefore the bytecode — matches.

Built here from the files rather than through ape-solidity's API, which rewrites the project's build
manifest as a side effect."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chain.artifacts import compiler_info
from chain.toolchain import BUILD_MANIFEST, PROJECT_ROOT

_IMPORT = re.compile(r'^\s*import\s+(?:[^"\']*from\s+)?["\']([^"\']+)["\']', re.MULTILINE)


def _resolve(unit: str, imported: str, remappings: list[tuple[str, str]]) -> str:
    for prefix, target in remappings:
        if imported.startswith(prefix):
            return target + imported[len(prefix) :]
    if imported.startswith("."):
        return str(Path(unit).parent.joinpath(imported)).replace("\\", "/")
    return imported


def _normalise(unit: str) -> str:
    parts: list[str] = []
    for part in unit.split("/"):
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


_APE_OZ_CACHE = re.compile(r"^contracts/\.cache/openzeppelin/[^/]+/")


def _read_unit(unit: str) -> str:
    """ape names dependency sources under contracts/.cache/<name>/<version>/, a folder it may clean up;
    the same files are the npm package's."""
    path = PROJECT_ROOT / unit
    if not path.exists() and _APE_OZ_CACHE.match(unit):
        path = PROJECT_ROOT / "node_modules" / "@openzeppelin" / "contracts" / _APE_OZ_CACHE.sub("", unit)
    return path.read_text()


def standard_json_input(contract_file: Path, manifest: Path = BUILD_MANIFEST) -> dict[str, Any]:
    info = compiler_info(manifest)
    settings = dict(info.settings)
    remappings = [tuple(r.split("=", 1)) for r in settings.get("remappings", [])]
    remap = [(p if p.endswith("/") else p + "/", t if t.endswith("/") else t + "/") for p, t in remappings]
    sources: dict[str, dict[str, str]] = {}
    pending = [str(contract_file.resolve().relative_to(PROJECT_ROOT))]
    while pending:
        unit = _normalise(pending.pop())
        if unit in sources:
            continue
        content = _read_unit(unit)
        sources[unit] = {"content": content}
        pending += [_resolve(unit, imp, remap) for imp in _IMPORT.findall(content)]
    settings["outputSelection"] = {"*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode", "metadata"]}}
    return {
        "compilerVersion": f"v{info.version}",
        "input": {"language": "Solidity", "sources": dict(sorted(sources.items())), "settings": settings},
    }


def write_verification_inputs(names: list[str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        path = folder / f"{name}.standard-input.json"
        data = standard_json_input(PROJECT_ROOT / "contracts" / f"{name}.sol")
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written
