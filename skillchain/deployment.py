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


def deploy_params(settings: Settings, *, local: bool) -> DeployParams:
    """What Settings configure. A public chain gets exactly that, plus standard-JSON inputs for
    verification; a local chain fills unset roles with anvil's development accounts and adds a test
    stablecoin for the card relayer."""
    params = DeployParams(
        admin=settings.admin,
        admin_delay=settings.admin_delay,
        treasury=settings.treasury,
        fee_bps=settings.fee_bps,
        arbiters=settings.arbiters,
        issuers=settings.issuers,
        funders=settings.funders,
        allowed_tokens=settings.allowed_tokens,
        review_minimums={"eth": settings.review_minimum_wei, **settings.token_review_minimums},
        test_stablecoin_review_minimum=settings.test_stablecoin_review_minimum,
    )
    if not local:
        return params
    relayer = str(anvil_account(8).address)
    dev_issuers = [str(anvil_account(i).address) for i in range(1, 5)]
    return params.model_copy(
        update={
            "arbiters": settings.arbiters or [str(anvil_account(9).address)],
            "issuers": settings.issuers or dev_issuers,
            "funders": settings.funders or [relayer],
            "test_stablecoin": True,
            "test_price_feeds": {} if settings.price_feeds else settings.test_price_feeds,
            "verification_inputs": False,  # a disposable local chain is never verified on an explorer
            "stablecoin_holders": [relayer, *dev_issuers],
        }
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
    params = deploy_params(settings, local=local)

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
