"""Deploy the Skillchain contracts wired together, configure roles and parameters, write the record."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3
from web3.types import TxReceipt

from chain.artifacts import CORE_CONTRACTS, compiler_info, load_artifact
from chain.errors import MissingReviewMinimum
from chain.records import (
    LOCAL_CHAIN_IDS,
    CompilerRecord,
    ContractRecord,
    DeploymentRecord,
    load_record,
    record_path,
    save_record,
)
from chain.tx import Sender

ZERO = "0x0000000000000000000000000000000000000000"
FEED_PREFIX = "PriceFeed:"  # a deployment record's name for a mock feed: PriceFeed:ETH/USD
FEED_DECIMALS = 8


class DeployParams(BaseModel):
    """What a deployment configures. Addresses default to the deployer where that is safe."""

    model_config = ConfigDict(extra="forbid")

    admin: str | None = None
    admin_delay: int = Field(2 * 24 * 3600, ge=0, le=2**48 - 1)
    treasury: str | None = None
    fee_bps: int = Field(250, ge=0, le=1000)
    arbiters: list[str] = Field(default_factory=list)
    issuers: list[str] = Field(default_factory=list)
    funders: list[str] = Field(default_factory=list)
    allowed_tokens: list[str] = Field(default_factory=list)
    review_minimums: dict[str, int] = Field(default_factory=dict)
    test_stablecoin: bool = False
    test_stablecoin_review_minimum: int = Field(10**6, gt=0)
    verification_inputs: bool = True
    stablecoin_holders: list[str] = Field(default_factory=list)
    # CODE/USD -> USD per unit: a MockAggregator each (8 decimals, as Chainlink's USD feeds), recorded
    # as "PriceFeed:CODE/USD". Local chains only.
    test_price_feeds: dict[str, Decimal] = Field(default_factory=dict)


def review_minimums_for(params: DeployParams) -> dict[str, int]:
    """ETH's and every allowed token's review minimum, keyed by lowercase address (ETH = zero)."""
    given = {(ZERO if k.lower() == "eth" else k.lower()): v for k, v in params.review_minimums.items()}
    missing = [t for t in params.allowed_tokens if t.lower() not in given]
    if missing:
        raise MissingReviewMinimum(
            "SKILLCHAIN_TOKEN_REVIEW_MINIMUMS: no review minimum for allowed token(s) "
            + ", ".join(missing)
            + " (every accepted token needs one, e.g. 0xToken=1000000 for 1 USDC)"
        )
    return given


def is_deployed(w3: Web3, record: DeploymentRecord) -> bool:
    """True when every contract of the record has code on this chain and its ABI is unchanged."""
    for name in CORE_CONTRACTS:
        entry = record.contracts.get(name)
        if entry is None or entry.abi_hash != load_artifact(name).abi_hash:
            return False
        if len(w3.eth.get_code(Web3.to_checksum_address(entry.address))) == 0:
            return False
    return True


def deploy(
    sender: Sender,
    params: DeployParams,
    *,
    data_dir: Path,
    deployments_dir: Path,
    force: bool = False,
    log: Callable[[str], None] = print,
    before_deploy: Callable[[], None] | None = None,
) -> tuple[DeploymentRecord, bool]:
    """Deploy (or find) the contracts on the sender's chain. Returns the record and whether it deployed.

    ``before_deploy`` runs only when something will be deployed (confirmation, unlocking a keyfile);
    it aborts by raising.
    """
    minimums = review_minimums_for(params)  # refuse before anything is sent
    w3 = sender.w3
    chain_id = w3.eth.chain_id
    genesis = w3.eth.get_block(0)["hash"]
    genesis_hash = "0x" + bytes(genesis).hex()
    path = record_path(chain_id, data_dir=data_dir, deployments_dir=deployments_dir)
    existing = load_record(path)
    if existing and not force:
        if existing.genesis_hash == genesis_hash and is_deployed(w3, existing):
            log(f"contracts already deployed on chain {chain_id} (record {path}); use --force to redeploy")
            return existing, False
        log(f"deployment record {path} does not match this chain: deploying again")
    if before_deploy is not None:
        before_deploy()

    me = sender.address
    admin = params.admin or me
    treasury = params.treasury or me
    contracts: dict[str, ContractRecord] = {}

    def record(name: str, address: str, receipt: TxReceipt, artifact: str | None = None) -> None:
        contracts[name] = ContractRecord(
            address=address,
            block_number=receipt["blockNumber"],
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            abi_hash=load_artifact(artifact or name).abi_hash,
        )
        log(f"  {name:<14} {address}  (block {receipt['blockNumber']})")

    log(f"deploying to chain {chain_id} from {me}")
    # The deployer administers during setup and hands over at the end if another admin is named.
    escrow, receipt = sender.deploy(
        load_artifact("SkillEscrow"), me, params.admin_delay, treasury, params.fee_bps
    )
    record("SkillEscrow", escrow.address, receipt)
    reputation, receipt = sender.deploy(load_artifact("Reputation"), me, params.admin_delay, escrow.address)
    record("Reputation", reputation.address, receipt)
    credential, receipt = sender.deploy(
        load_artifact("SkillCredential"), me, params.admin_delay, escrow.address
    )
    record("SkillCredential", credential.address, receipt)

    tokens = list(params.allowed_tokens)
    if params.test_stablecoin:
        if chain_id not in LOCAL_CHAIN_IDS:
            raise ValueError("the test stablecoin is for local chains only")
        usd, receipt = sender.deploy(load_artifact("MockERC20"), "Skillchain Test USD", "tUSD", 6)
        record("TestStablecoin", usd.address, receipt, "MockERC20")
        tokens.append(usd.address)
        minimums[usd.address.lower()] = params.test_stablecoin_review_minimum
        for holder in params.stablecoin_holders:
            sender.call(usd.functions.mint(Web3.to_checksum_address(holder), 10**12 * 10**6))

    if params.test_price_feeds and chain_id not in LOCAL_CHAIN_IDS:
        raise ValueError("the mock price feeds are for local chains only: configure SKILLCHAIN_PRICE_FEEDS")
    for pair, usd_per_unit in sorted(params.test_price_feeds.items()):
        answer = int(usd_per_unit.scaleb(FEED_DECIMALS))
        feed, receipt = sender.deploy(
            load_artifact("MockAggregator"), FEED_DECIMALS, pair.replace("/", " / "), answer
        )
        record(f"{FEED_PREFIX}{pair}", feed.address, receipt, "MockAggregator")

    for role_name, members in (("ARBITER_ROLE", params.arbiters), ("FUNDER_ROLE", params.funders)):
        role = escrow.functions[role_name]().call()
        for member in members:
            sender.call(escrow.functions.grantRole(role, Web3.to_checksum_address(member)))
    issuer_role = credential.functions.ISSUER_ROLE().call()
    for member in params.issuers:
        sender.call(credential.functions.grantRole(issuer_role, Web3.to_checksum_address(member)))
    for contract in (escrow, credential):
        pauser = contract.functions.PAUSER_ROLE().call()
        sender.call(contract.functions.grantRole(pauser, Web3.to_checksum_address(admin)))
    for token in tokens:
        sender.call(escrow.functions.setTokenAllowed(Web3.to_checksum_address(token), True))
    for token, minimum in minimums.items():
        sender.call(reputation.functions.setReviewMinimum(Web3.to_checksum_address(token), minimum))
    if admin.lower() != me.lower():
        for contract in (escrow, reputation, credential):
            sender.call(contract.functions.beginDefaultAdminTransfer(Web3.to_checksum_address(admin)))
        log(f"  admin handover to {admin} started: it accepts after {params.admin_delay} s")

    info = compiler_info()
    new = DeploymentRecord(
        chain_id=chain_id,
        genesis_hash=genesis_hash,
        deployer=me,
        compiler=CompilerRecord(version=info.version, settings=info.settings),
        contracts=contracts,
        parameters=params.model_dump(mode="json") | {"admin": admin, "treasury": treasury},
    )
    save_record(new, path)
    log(f"deployment record written to {path}")
    if params.verification_inputs:
        from chain.verification import write_verification_inputs

        folder = path.with_name(f"{chain_id}-verify")
        write_verification_inputs(list(CORE_CONTRACTS), folder)
        log(f"standard-JSON inputs for Etherscan/Sourcify verification written to {folder}")
    return new, True
