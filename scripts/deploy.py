"""`ape run deploy --network <choice> --account <alias>`: deploy Skillchain with ape's networks and accounts.

The same procedure as `skillchain deploy --network … --account …` (skillchain/deployment.py):
parameters come from SKILLCHAIN_* settings, the record goes to deployments/<chainId>.json (or the
data folder for a local chain) and nothing already deployed is redeployed unless --force.
"""

from __future__ import annotations

import click
from ape.api import AccountAPI, ProviderAPI
from ape.cli import ConnectedProviderCommand, account_option

from chain.ape_signer import ApeSigner, unlock
from chain.compile_if_needed import ensure_compiled
from chain.errors import ChainError
from skillchain.deployment import deploy_configured
from skillchain.settings import SettingsError, load_settings


@click.command(cls=ConnectedProviderCommand, short_help="Deploy the Skillchain contracts")
@account_option()
@click.option("--force", is_flag=True, help="Deploy again even if the record says it is deployed.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deploying to a public chain.")
def cli(provider: ProviderAPI, account: AccountAPI, force: bool, yes: bool) -> None:
    """Deploy SkillEscrow, Reputation and SkillCredential wired together and write the record."""
    w3 = getattr(provider, "web3", None)
    if w3 is None:
        raise click.ClickException(f"provider {provider.name} has no web3 connection")
    try:
        ensure_compiled()
        confirm = None if yes else (lambda text: click.confirm(text, default=False))
        deploy_configured(
            load_settings(),
            w3,
            ApeSigner(account),
            force=force,
            confirm=confirm,
            unlock=lambda: unlock(account),
            log=click.echo,
        )
    except (ChainError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None
