"""Where the offline toolchain lives (solc wasm wrapper, anvil) and compiling through ape."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from chain.errors import CompileError, LocalChainError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
SOLCX_DIR = PROJECT_ROOT / ".venv" / "solcx"
BUILD_MANIFEST = PROJECT_ROOT / ".build" / "__local__.json"


def solc_version() -> str:
    """The one pinned compiler version: package.json's `solc` dependency."""
    package = json.loads((PROJECT_ROOT / "package.json").read_text())
    return str(package["dependencies"]["solc"])


def configure_environment() -> None:
    """Point py-solc-x at the offline compiler and put anvil on PATH (idempotent)."""
    os.environ.setdefault("SOLCX_BINARY_PATH", str(SOLCX_DIR))
    path = os.environ.get("PATH", "")
    if str(VENV_BIN) not in path.split(os.pathsep):
        os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{path}"


def anvil_binary() -> str:
    configure_environment()
    found = shutil.which("anvil")
    if not found:
        raise LocalChainError("anvil not found: run `make setup` (it installs @foundry-rs/anvil from npm)")
    return found


def compile_contracts(root: Path = PROJECT_ROOT) -> None:
    """Compile an ape project's contracts; a broken contract raises CompileError with solc's message."""
    configure_environment()
    if not (SOLCX_DIR / f"solc-v{solc_version()}").exists():
        raise CompileError(f"offline solc {solc_version()} is not installed: run `make setup`")
    from ape import Project
    from ape.exceptions import ApeException

    try:
        # Everything, never only the changed files: ape records the settings of its last compile in the
        # manifest, and a changed file without imports left them without the OpenZeppelin remapping
        # (then the verification inputs could not resolve an import, and the record named wrong settings).
        Project(root).load_contracts(use_cache=False)
    except ApeException as exc:
        message = str(exc)
        # ape-solidity wraps py-solc-x's error; keep only the compiler's own text.
        raise CompileError(message.split("CompilerError: ", 1)[-1].strip() or message) from None
