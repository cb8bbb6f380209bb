"""The offline compiler, the CLI frame and settings validation."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.artifacts import compiler_info, load_artifact
from chain.errors import CompileError
from chain.toolchain import (
    PROJECT_ROOT,
    SOLCX_DIR,
    compile_contracts,
    configure_environment,
    solc_version,
)
from skillchain.cli import app
from skillchain.settings import SettingsError, load_settings

SOLC = SOLCX_DIR / f"solc-v{solc_version()}"


def test_solc_wrapper_answers_version_like_native_solc() -> None:
    out = subprocess.run([str(SOLC), "--version"], capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    # py-solc-x's own parsing rule
    assert re.search(r"Version: (\d+\.\d+\.\d+)(?:-nightly.\d+.\d+.\d+|)(\+commit.\w+)", lines[1])
    assert solc_version() in lines[1]


def test_solc_wrapper_compiles_standard_json_from_stdin() -> None:
    source = (
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0; contract A { function f() external {} }"
    )
    request = {
        "language": "Solidity",
        "sources": {"A.sol": {"content": source}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    out = subprocess.run(
        [str(SOLC), "--standard-json"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out)  # stdout is pure JSON, nothing else
    assert result["contracts"]["A.sol"]["A"]["abi"][0]["name"] == "f"


def test_solc_wrapper_writes_large_outputs_whole() -> None:
    # Regression: a pipe's 64 KiB buffer must not cut the JSON short when the wrapper exits.
    contracts = "".join(
        f"contract C{i} {{ function f(uint a) external pure returns (uint) {{ return a * {i}; }} }}\n"
        for i in range(300)
    )
    request = {
        "language": "Solidity",
        "sources": {
            "A.sol": {"content": "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n" + contracts}
        },
        "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    proc = subprocess.run(
        [str(SOLC), "--standard-json"], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    assert len(proc.stdout) > 200_000
    assert len(json.loads(proc.stdout)["contracts"]["A.sol"]) == 300


def test_contracts_importing_openzeppelin_compile_with_the_pinned_version() -> None:
    configure_environment()
    compile_contracts()
    escrow = load_artifact("SkillEscrow")
    assert any(item.get("name") == "createEngagement" for item in escrow.abi)
    assert compiler_info().version.startswith(solc_version() + "+")


def test_deployable_contracts_do_not_pin_another_compiler() -> None:
    pragmas = {
        p.name: re.search(r"pragma solidity ([^;]+);", p.read_text()).group(1)  # type: ignore[union-attr]
        for p in (PROJECT_ROOT / "contracts").rglob("*.sol")
        if ".cache" not in p.parts
    }
    assert pragmas
    for name, pragma in pragmas.items():
        assert pragma.startswith("^0.8."), f"{name} pins {pragma}: the version lives in package.json"


def test_syntax_error_surfaces_as_the_compilers_message(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "ape-config.yaml").write_text("name: broken\n")
    (tmp_path / "contracts" / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\ncontract Broken { function f() external { uint x = ; } }\n"
    )
    configure_environment()
    with pytest.raises(CompileError) as info:
        compile_contracts(tmp_path)
    message = str(info.value)
    assert "ParserError" in message and "Broken.sol" in message
    assert "Traceback" not in message


def test_cli_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "deploy", "compile", "config"):
        assert command in result.output


def test_cli_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("skillchain ")


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("SKILLCHAIN_FEE_BPS", "5000", "less than or equal to 1000"),
        ("SKILLCHAIN_ANVIL_PORT", "http", "valid integer"),
        ("SKILLCHAIN_ARBITERS", "0x123", "not a 0x-prefixed 20-byte address"),
        ("SKILLCHAIN_LOG_LEVEL", "LOUD", "must be one of"),
        ("SKILLCHAIN_RPC_URL", "not a url", "URL"),
    ],
)
def test_bad_setting_names_the_variable_and_the_problem(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert variable in str(info.value) and problem in str(info.value)
    result = CliRunner().invoke(app, ["config"], env={variable: value})
    assert result.exit_code == 2 and variable in result.output


def test_settings_defaults_and_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SKILLCHAIN_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("SKILLCHAIN_CHAIN_IDS", "1, 11155111")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "d"
    assert settings.chain_ids == [1, 11155111]
    assert settings.effective_rpc_url == "http://127.0.0.1:8545"
