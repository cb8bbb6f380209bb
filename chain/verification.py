"""Standard-JSON compiler inputs for Etherscan / Sourcify verification, exactly as the contracts
were compiled (same source unit names, remappings and settings, so the metadata hash matches)."""

from __future__ import annotations

import json
from pathlib import Path

from chain.toolchain import PROJECT_ROOT, configure_environment


def standard_json_input(contract_file: Path) -> dict[str, object]:
    """The input ape-solidity compiled `contract_file` with (its imports included, outputs minimal)."""
    configure_environment()
    from ape import Project, compilers

    project = Project(PROJECT_ROOT)
    solidity = compilers.registered_compilers[".sol"]
    inputs = solidity.get_standard_input_json([contract_file.resolve()], project=project)
    (version, data), *_ = inputs.items()
    data = dict(data)
    settings = dict(data["settings"])
    settings["outputSelection"] = {"*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode", "metadata"]}}
    data["settings"] = settings
    return {"compilerVersion": f"v{version}", "input": data}


def write_verification_inputs(names: list[str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        source = PROJECT_ROOT / "contracts" / f"{name}.sol"
        path = folder / f"{name}.standard-input.json"
        path.write_text(json.dumps(standard_json_input(source), indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written
