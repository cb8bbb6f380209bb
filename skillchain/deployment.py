"""One deployment procedure for every entry point: `skillchain deploy`, `skillchain up`, `ape run deploy`.

What is deployed comes from Settings (fee, treasury, roles, review minimum); who signs and which
chain is the caller's choice: anvil's development key on a local chain, SKILLCHAIN_DEPLOYER_KEY, or
an ape account on an ape network.
"""

from __future__ import annotations

from collections.abc import Callable

from web3 import Web3

from chain.deploy import DeployParams, deploy
from chain.errors import ChainError
from chain.records import LOCAL_CHAIN_IDS, DeploymentRecord
from chain.tx import Sender, TxSigner, anvil_account
from skillchain.settings import Settings


class DeployRefused(ChainError):
    """The deployment cannot start as asked (no signer for a public chain, declined confirmation)."""


def local_params(settings: Settings) -> DeployParams:
    """A local chain: anvil's development accounts fill every role, plus a test stablecoin for the relayer."""
    relayer = anvil_account(8)
    return DeployParams(
        admin=settings.admin,
        admin_delay=settings.admin_delay,
        treasury=settings.treasury,
        fee_bps=settings.fee_bps,
        arbiters=settings.arbiters or [anvil_account(9).address],
        issuers=settings.issuers or [str(anvil_account(i).address) for i in range(1, 5)],
        funders=settings.funders or [relayer.address],
        allowed_tokens=settings.allowed_tokens,
        review_minimums={"eth": settings.review_minimum_wei},
        test_stablecoin=True,
        verification_inputs=False,  # a disposable local chain is never verified on an explorer
        stablecoin_holders=[str(relayer.address)] + [str(anvil_account(i).address) for i in range(1, 5)],
    )


def public_params(settings: Settings) -> DeployParams:
    """A testnet or mainnet: only what is configured, and standard-JSON inputs for verification."""
    return DeployParams(
        admin=settings.admin,
        admin_delay=settings.admin_delay,
        treasury=settings.treasury,
        fee_bps=settings.fee_bps,
        arbiters=settings.arbiters,
        issuers=settings.issuers,
        funders=settings.funders,
        allowed_tokens=settings.allowed_tokens,
        review_minimums={"eth": settings.review_minimum_wei},
    )


def deploy_configured(
    settings: Settings,
    w3: Web3,
    signer: TxSigner | None,
    *,
    force: bool = False,
    confirm: Callable[[str], bool] | None = None,
    unlock: Callable[[], None] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[DeploymentRecord, bool]:
    """Deploy with Settings' parameters on ``w3``'s chain; returns the record and whether it deployed.

    ``signer`` None means anvil's development key, which only a local chain accepts. ``confirm`` is
    asked once before a public chain is touched (None: no question), then ``unlock`` readies the
    signer; neither runs when everything is already deployed.
    """
    chain_id = w3.eth.chain_id
    local = chain_id in LOCAL_CHAIN_IDS
    if signer is None:
        if not local:
            raise DeployRefused(
                f"chain {chain_id} is not local: sign with an ape account (--network … --account ALIAS) "
                "or set SKILLCHAIN_DEPLOYER_KEY"
            )
        signer = anvil_account(0)
    params = local_params(settings) if local else public_params(settings)

    def before_deploy() -> None:
        if confirm is not None and not local:
            summary = (
                f"deploy SkillEscrow, Reputation and SkillCredential to chain {chain_id} from "
                f"{signer.address} (fee {params.fee_bps} bps, treasury {params.treasury or signer.address})?"
            )
            if not confirm(summary):
                raise DeployRefused("deployment cancelled")
        if unlock is not None:
            unlock()

    return deploy(
        Sender(w3, signer),
        params,
        data_dir=settings.data_dir,
        deployments_dir=settings.deployments_dir,
        force=force,
        log=log,
        before_deploy=before_deploy,
    )
