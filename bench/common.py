"""Helpers shared by the benchmarks: compile with the offline compiler, start a private anvil."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

from web3 import Web3

from chain.artifacts import Artifact
from chain.toolchain import PROJECT_ROOT, VENV_BIN

OZ_REMAP = "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"


def compile_files(
    files: dict[str, Path], *, package: str = "solc", via_ir: bool = True
) -> dict[str, Artifact]:
    """Compile with the offline wasm compiler (npm alias `package`), optimizer 200 runs, Prague."""
    request = {
        "language": "Solidity",
        "sources": {name: {"content": path.read_text()} for name, path in files.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "viaIR": via_ir,
            "evmVersion": "prague",
            "remappings": [OZ_REMAP],
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    out = subprocess.run(
        [
            "node",
            str(PROJECT_ROOT / "tools" / "solc.mjs"),
            "--standard-json",
            "--base-path",
            str(PROJECT_ROOT),
        ],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env=os.environ | {"SOLC_JS_PACKAGE": package},
    ).stdout
    result = json.loads(out)
    errors = [e["formattedMessage"] for e in result.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("compilation failed:\n" + "\n".join(errors))
    artifacts = {}
    for source, contracts in result["contracts"].items():
        for name, c in contracts.items():
            if source in files:
                artifacts[name] = Artifact(name, c["abi"], "0x" + c["evm"]["bytecode"]["object"], source)
    return artifacts


def start_anvil(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(VENV_BIN / "anvil"), "--port", str(port), "--silent", "--hardfork", "prague", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            _ = Web3(Web3.HTTPProvider(url)).eth.chain_id
            return proc, url
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    raise SystemExit("anvil did not start")
