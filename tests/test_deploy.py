"""`skillchain deploy` against a second anvil posing as Sepolia (chain id 11155111)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from chain.localchain import LocalChain
from chain.records import load_record
from chain.toolchain import VENV_BIN
from chain.tx import anvil_account
from tests.net import free_port

SEPOLIA = 11155111


@pytest.fixture(scope="module")
def sepolia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chain = LocalChain(data_dir=tmp_path_factory.mktemp("sepolia"), port=free_port(), chain_id=SEPOLIA)
    chain.start()
    try:
        yield chain.url
    finally:
        chain.stop()


def deploy(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "SKILLCHAIN_DATA_DIR": str(tmp_path / "data"),
        "SKILLCHAIN_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "SKILLCHAIN_DEPLOYER_KEY": anvil_account(0).key.hex(),
        "SKILLCHAIN_ARBITERS": anvil_account(9).address,
        "SKILLCHAIN_ISSUERS": anvil_account(4).address,
        "SKILLCHAIN_FUNDERS": anvil_account(8).address,
        "SKILLCHAIN_FEE_BPS": "300",
    }
    return subprocess.run(
        [str(VENV_BIN / "skillchain"), "deploy", "--rpc-url", url, "--yes", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_deploy_to_testnet_writes_record_and_is_idempotent(sepolia: str, tmp_path: Path) -> None:
    first = deploy(sepolia, tmp_path)
    assert first.returncode == 0, first.stderr
    path = tmp_path / "deployments" / f"{SEPOLIA}.json"
    record = load_record(path)
    assert record is not None and record.chain_id == SEPOLIA
    assert set(record.contracts) == {"SkillEscrow", "Reputation", "SkillCredential"}
    assert record.compiler.version.startswith("0.8.") and record.compiler.settings["viaIR"] is True
    assert not (tmp_path / "data" / "deployments").exists()  # testnet records never go to the data folder

    w3 = Web3(Web3.HTTPProvider(sepolia))
    escrow = w3.eth.contract(address=record.address_of("SkillEscrow"), abi=_abi("SkillEscrow"))
    assert escrow.functions.feeBps().call() == 300
    assert escrow.functions.hasRole(escrow.functions.ARBITER_ROLE().call(), anvil_account(9).address).call()
    assert escrow.functions.hasRole(escrow.functions.FUNDER_ROLE().call(), anvil_account(8).address).call()
    cred = w3.eth.contract(address=record.address_of("SkillCredential"), abi=_abi("SkillCredential"))
    assert cred.functions.escrow().call() == record.address_of("SkillEscrow")
    assert cred.functions.hasRole(cred.functions.ISSUER_ROLE().call(), anvil_account(4).address).call()

    verify_dir = tmp_path / "deployments" / f"{SEPOLIA}-verify"
    standard = json.loads((verify_dir / "SkillEscrow.standard-input.json").read_text())
    assert standard["compilerVersion"].startswith("v0.8.")
    assert "contracts/SkillEscrow.sol" in standard["input"]["sources"]
    # What an explorer would do: compile the input and compare with the deployed code.
    compiled = json.loads(
        subprocess.run(
            ["node", "tools/solc.mjs", "--standard-json"],
            input=json.dumps(standard["input"]),
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
    )
    creation = compiled["contracts"]["contracts/SkillEscrow.sol"]["SkillEscrow"]["evm"]["bytecode"]["object"]
    assert "0x" + creation == _artifact_bytecode("SkillEscrow")  # the deployed creation code, byte for byte

    again = deploy(sepolia, tmp_path)
    assert again.returncode == 0 and "already deployed" in again.stdout
    assert load_record(path) == record

    forced = deploy(sepolia, tmp_path, "--force")
    assert forced.returncode == 0
    assert load_record(path).address_of("SkillEscrow") != record.address_of("SkillEscrow")  # type: ignore[union-attr]


def test_deploy_to_non_local_chain_without_key_is_refused(sepolia: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SKILLCHAIN_DEPLOYER_KEY"} | {
        "SKILLCHAIN_DATA_DIR": str(tmp_path / "data"),
        "SKILLCHAIN_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
    }
    result = subprocess.run(
        [str(VENV_BIN / "skillchain"), "deploy", "--rpc-url", sepolia],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1 and "SKILLCHAIN_DEPLOYER_KEY" in result.stderr


USDC_ON_SEPOLIA = "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"


@pytest.fixture(scope="module")
def ape_keystore(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An ape data folder holding one encrypted keyfile account, `deployer` (anvil's account 3)."""
    from chain.compile_if_needed import ensure_compiled

    ensure_compiled()  # compile with the real ape data folder before pointing ape elsewhere
    folder = tmp_path_factory.mktemp("ape-data")
    subprocess.run(
        [
            str(VENV_BIN / "python"),
            "-c",
            "import sys; from ape_accounts import import_account_from_private_key as imp; "
            "imp('deployer', sys.argv[1], sys.argv[2])",
            "correct horse battery staple 42!",
            anvil_account(3).key.hex(),
        ],
        env=os.environ | {"APE_DATA_FOLDER": str(folder)},
        check=True,
        capture_output=True,
    )
    return {"APE_DATA_FOLDER": str(folder)}


def ape_env(tmp_path: Path, keystore: dict[str, str], passphrase: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SKILLCHAIN_DEPLOYER_KEY"}
    return (
        env
        | keystore
        | {
            "APE_ACCOUNTS_deployer_PASSPHRASE": passphrase,
            "SKILLCHAIN_DATA_DIR": str(tmp_path / "data"),
            "SKILLCHAIN_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
            "SKILLCHAIN_ALLOWED_TOKENS": USDC_ON_SEPOLIA,
            "SKILLCHAIN_TOKEN_REVIEW_MINIMUMS": f"{USDC_ON_SEPOLIA}=1000000",
            "SKILLCHAIN_FEE_BPS": "125",
        }
    )


@pytest.mark.slow
def test_ape_account_deploys_on_the_sepolia_network_and_ape_run_sees_the_record(
    sepolia: str, tmp_path: Path, ape_keystore: dict[str, str]
) -> None:
    env = ape_env(tmp_path, ape_keystore, "correct horse battery staple 42!")
    cmd = [str(VENV_BIN / "skillchain"), "deploy", "--network", "ethereum:sepolia:node", "--rpc-url", sepolia]
    first = subprocess.run([*cmd, "--account", "deployer", "--yes"], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    record = load_record(tmp_path / "deployments" / f"{SEPOLIA}.json")
    assert record is not None and record.chain_id == SEPOLIA
    assert record.deployer == anvil_account(3).address  # the ape keyfile signed, not a dev key
    assert (tmp_path / "deployments" / f"{SEPOLIA}-verify" / "Reputation.standard-input.json").exists()
    w3 = Web3(Web3.HTTPProvider(sepolia))
    escrow = w3.eth.contract(address=record.address_of("SkillEscrow"), abi=_abi("SkillEscrow"))
    assert escrow.functions.feeBps().call() == 125
    assert escrow.functions.isTokenAllowed(USDC_ON_SEPOLIA).call()
    reputation = w3.eth.contract(address=record.address_of("Reputation"), abi=_abi("Reputation"))
    assert reputation.functions.reviewMinimum(USDC_ON_SEPOLIA).call() == 10**6
    assert escrow.functions.hasRole(b"\x00" * 32, anvil_account(3).address).call()

    # The ape script is the same procedure: it finds the deployment and deploys nothing.
    script = subprocess.run(
        [
            str(VENV_BIN / "ape"),
            "run",
            "deploy",
            "--network",
            f"ethereum:sepolia:{sepolia}",
            "--account",
            "deployer",
            "--yes",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert script.returncode == 0, script.stdout + script.stderr
    assert "already deployed" in script.stdout
    assert load_record(tmp_path / "deployments" / f"{SEPOLIA}.json") == record


def test_ape_deploy_with_a_wrong_passphrase_or_unknown_alias_deploys_nothing(
    sepolia: str, tmp_path: Path, ape_keystore: dict[str, str]
) -> None:
    cmd = [str(VENV_BIN / "skillchain"), "deploy", "--network", "ethereum:sepolia:node", "--rpc-url", sepolia]
    env = ape_env(tmp_path, ape_keystore, "not the passphrase")
    wrong = subprocess.run([*cmd, "--account", "deployer", "--yes"], capture_output=True, text=True, env=env)
    assert wrong.returncode == 1 and "cannot unlock ape account 'deployer'" in wrong.stderr
    unknown = subprocess.run([*cmd, "--account", "nobody", "--yes"], capture_output=True, text=True, env=env)
    assert (
        unknown.returncode == 1
        and "no ape account 'nobody'" in unknown.stderr
        and "deployer" in unknown.stderr
    )
    declined = subprocess.run(
        [*cmd, "--account", "deployer"], input="n\n", capture_output=True, text=True, env=env
    )
    assert declined.returncode == 1 and "deployment cancelled" in declined.stderr
    assert not (tmp_path / "deployments").exists()


def test_account_without_network_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "skillchain"), "deploy", "--account", "deployer"],
        capture_output=True,
        text=True,
        env=os.environ | {"SKILLCHAIN_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 2 and "--network" in result.stderr


def _abi(name: str) -> list[dict[str, object]]:
    from chain.artifacts import load_artifact

    return load_artifact(name).abi


def test_local_deploy_adds_a_test_stablecoin_held_by_the_relayer(tmp_path: Path) -> None:
    local = LocalChain(data_dir=tmp_path / "chain", port=free_port(), chain_id=31337)
    local.start()
    try:
        env = os.environ | {"SKILLCHAIN_DATA_DIR": str(tmp_path / "data")}
        env.pop("SKILLCHAIN_DEPLOYER_KEY", None)
        result = subprocess.run(
            [str(VENV_BIN / "skillchain"), "deploy", "--rpc-url", local.url],
            capture_output=True,
            text=True,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        record = load_record(tmp_path / "data" / "deployments" / "31337.json")
        assert record is not None
        w3 = Web3(Web3.HTTPProvider(local.url))
        escrow = w3.eth.contract(address=record.address_of("SkillEscrow"), abi=_abi("SkillEscrow"))
        usd = w3.eth.contract(address=record.address_of("TestStablecoin"), abi=_abi("MockERC20"))
        relayer = anvil_account(8).address
        assert escrow.functions.isTokenAllowed(usd.address).call()
        assert escrow.functions.hasRole(escrow.functions.FUNDER_ROLE().call(), relayer).call()
        assert usd.functions.balanceOf(relayer).call() > 0 and usd.functions.decimals().call() == 6
    finally:
        local.stop()


def _artifact_bytecode(name: str) -> str:
    from chain.artifacts import load_artifact

    return load_artifact(name).bytecode


def test_ape_local_network_deploys_to_the_running_local_chain(tmp_path: Path) -> None:
    """`--network ethereum:local:foundry` uses the chain `make run` keeps, not a throwaway anvil of ape's."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SKILLCHAIN_DEPLOYER_KEY"} | {
        "SKILLCHAIN_DATA_DIR": str(tmp_path / "data"),
        "SKILLCHAIN_ANVIL_PORT": str(port),
    }
    cmd = [str(VENV_BIN / "skillchain"), "deploy", "--network", "ethereum:local:foundry"]
    down = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert down.returncode == 1 and "no local chain at" in down.stderr
    local = LocalChain(data_dir=tmp_path / "chain", port=port, chain_id=31337)
    local.start()
    try:
        up = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert up.returncode == 0, up.stderr
        record = load_record(tmp_path / "data" / "deployments" / "31337.json")
        assert record is not None
        w3 = Web3(Web3.HTTPProvider(local.url))
        assert len(w3.eth.get_code(Web3.to_checksum_address(record.address_of("SkillEscrow")))) > 0
    finally:
        local.stop()


def test_an_allowed_token_without_a_review_minimum_is_refused_before_anything_is_sent() -> None:
    from chain.deploy import DeployParams, review_minimums_for
    from chain.errors import MissingReviewMinimum

    params = DeployParams(allowed_tokens=[USDC_ON_SEPOLIA], review_minimums={"eth": 10**15})
    with pytest.raises(MissingReviewMinimum, match="SKILLCHAIN_TOKEN_REVIEW_MINIMUMS: no review minimum"):
        review_minimums_for(params)
    ok = params.model_copy(update={"review_minimums": {"eth": 10**15, USDC_ON_SEPOLIA: 10**6}})
    assert review_minimums_for(ok) == {"0x" + "0" * 40: 10**15, USDC_ON_SEPOLIA.lower(): 10**6}
