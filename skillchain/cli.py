"""The `skillchain` command line."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from web3 import Web3

    from api.payments.service import Payments
    from ipfs.store import EmbeddedStore
    from skillchain.storage_gc import GcReport

from skillchain import __version__
from skillchain.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    name="skillchain",
    help=(
        "Skillchain: escrowed skill engagements, reviews and soulbound credentials on Ethereum.\n\n"
        "Start everything locally with `skillchain up`. Configuration comes from SKILLCHAIN_* "
        "environment variables or a .env file; `skillchain config` shows the effective values."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


# WebSocket messages above this are refused by the server itself (close 1009) before the room's own
# 64 KiB frame check: uvicorn would otherwise buffer up to 16 MiB per message.
WS_MAX_BYTES = 128 * 1024


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"skillchain {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Skillchain command line."""


@app.command()
def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as a JSON object.")] = False,
) -> None:
    """Show the effective configuration (secrets masked: keys, passwords, tokens in URLs) and where
    each value can be set."""
    from skillchain.redact import shown_setting

    settings = _settings()
    values = {name: shown_setting(name, getattr(settings, name)) for name in Settings.model_fields}
    if as_json:
        typer.echo(
            json.dumps({f"SKILLCHAIN_{k.upper()}": v for k, v in values.items()}, indent=2, default=str)
        )
        return
    for name, field in Settings.model_fields.items():
        typer.echo(f"SKILLCHAIN_{name.upper():<22} = {values[name]!s:<44} {field.description or ''}")


@app.command("compile")
def compile_cmd() -> None:
    """Compile the contracts with the pinned offline Solidity compiler."""
    from chain.errors import CompileError
    from chain.toolchain import compile_contracts

    try:
        compile_contracts()
    except CompileError as exc:
        raise _fail(f"compilation failed:\n{exc}") from None
    typer.echo("contracts compiled")


def _deploy_local(settings: Settings, rpc_url: str, force: bool) -> None:
    from chain.tx import connect
    from skillchain.deployment import deploy_configured

    deploy_configured(settings, connect(rpc_url), None, force=force, log=typer.echo)


def _reachable(url: str, failure: str) -> Web3:
    """A connection to the node at `url`, or the command stops with `failure` and the cause."""
    from chain.tx import connect

    w3 = connect(url)
    try:
        w3.eth.chain_id  # noqa: B018 - reach the node before anything else
    except OSError as exc:
        raise _fail(f"{failure} ({exc})") from None
    return w3


@app.command("deploy")
def deploy_cmd(
    network: Annotated[
        str | None,
        typer.Option(
            help="ape network choice, e.g. ethereum:sepolia:node or ethereum:sepolia:https://rpc… "
            "(`ape networks list`). Without it, --rpc-url / SKILLCHAIN_RPC_URL / the local anvil."
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(help="ape account alias that signs (`ape accounts import ALIAS`); needs --network."),
    ] = None,
    rpc_url: Annotated[
        str | None,
        typer.Option(help="JSON-RPC endpoint; with --network it overrides the provider's configured URI."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Deploy again even if the record says it is deployed.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before deploying to a public chain.")
    ] = False,
) -> None:
    """Deploy the three contracts wired together, configure them from SKILLCHAIN_* and write the record.

    On a local chain (id 31337 or 1337) anvil's development account deploys, a test stablecoin is added
    and the record goes to the data folder. Elsewhere an ape account (--network … --account ALIAS) or
    SKILLCHAIN_DEPLOYER_KEY signs; the record goes to deployments/<chainId>.json with each contract's
    standard-JSON input for Etherscan/Sourcify beside it. Nothing already deployed is redeployed unless
    --force.
    """
    from chain.compile_if_needed import ensure_compiled
    from chain.errors import ChainError
    from chain.records import LOCAL_CHAIN_IDS
    from chain.tx import TxSigner
    from skillchain.deployment import deploy_configured

    settings = _settings()
    confirm = None if yes else (lambda text: typer.confirm(text, default=False))
    key_signer: TxSigner | None = None
    if settings.deployer_key is not None:
        from eth_account import Account

        key_signer = Account.from_key(settings.deployer_key.get_secret_value())
    try:
        ensure_compiled()
        if network is None:
            if account is not None:
                raise _fail(
                    "--account names an ape account: use it with --network (e.g. ethereum:sepolia:node)", 2
                )
            url = rpc_url or settings.effective_rpc_url
            w3 = _reachable(url, f"cannot reach {url}")
            deploy_configured(settings, w3, key_signer, force=force, confirm=confirm, log=typer.echo)
            return
        from chain.ape_signer import ApeSigner, ape_network, load_account, unlock

        if network.split(":")[1:2] == ["local"] and rpc_url is None:
            # ape would start a throwaway anvil of its own; deploy to the local chain `make run` keeps.
            rpc_url = settings.effective_rpc_url
            _reachable(rpc_url, f"no local chain at {rpc_url}: start it with `make run` (or pass --rpc-url)")
        with ape_network(network, rpc_url) as w3:
            signer: TxSigner | None = key_signer
            unlock_signer = None
            if account is not None:
                ape_account = load_account(account)
                signer = ApeSigner(ape_account)
                unlock_signer = lambda: unlock(ape_account)  # noqa: E731
            elif signer is None and w3.eth.chain_id in LOCAL_CHAIN_IDS:
                signer = ApeSigner(load_account(None))  # ape's test account 0 is anvil's account 0
            deploy_configured(
                settings, w3, signer, force=force, confirm=confirm, unlock=unlock_signer, log=typer.echo
            )
    except ChainError as exc:
        raise _fail(str(exc)) from None


@app.command()
def up(
    no_deploy: Annotated[
        bool, typer.Option("--no-deploy", help="Start the chain without deploying.")
    ] = False,
    replicas: Annotated[
        int,
        typer.Option(
            "--replicas",
            min=1,
            max=64,
            help="API processes behind the one port (more than 1 needs PostgreSQL or SKILLCHAIN_REDIS_URL: "
            "the in-process bus cannot span processes).",
        ),
    ] = 1,
) -> None:
    """Start the local chain (or use SKILLCHAIN_RPC_URL), deploy, and run every service until Ctrl-C."""
    from chain.compile_if_needed import ensure_compiled
    from chain.errors import ChainError
    from chain.localchain import LocalChain, genesis_hash
    from chain.records import load_record, record_path
    from skillchain.redact import redact_url

    settings = _settings()
    if replicas > 1:
        refusal = replicas_refusal(settings)
        if refusal:
            raise _fail(refusal, code=2)
    _configure_logs(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    local: LocalChain | None = None
    services: list[Callable[[], None]] = []
    try:
        if settings.rpc_url is None:
            local = LocalChain(
                data_dir=settings.data_dir,
                host=settings.anvil_host,
                port=settings.anvil_port,
                chain_id=settings.chain_id,
                block_time=settings.block_time,
            )
            typer.echo(f"starting anvil on {local.url} (state in {local.state_file})")
            local.start()
        url = settings.effective_rpc_url
        from chain.localchain import rpc_call

        chain_id = int(str(rpc_call(url, "eth_chainId")), 16)
        path = record_path(chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir)
        record = load_record(path)
        if record is not None and record.genesis_hash != genesis_hash(url):
            typer.secho(
                f"the chain at {url} is not the one recorded in {path} (genesis differs): the local "
                "deployment record and read model are stale and will be rebuilt",
                fg=typer.colors.YELLOW,
            )
            path.unlink()
        if not no_deploy:
            ensure_compiled()
            _deploy_local(settings, url, force=False)
        record = load_record(path)
        services = _start_services(settings, stop, replicas) if record is not None else []
        typer.echo("")
        typer.secho("Skillchain is up", fg=typer.colors.GREEN, bold=True)
        typer.echo(f"  {'chain':<15} {redact_url(url)} (chain id {chain_id})")
        if record:
            for name, entry in record.contracts.items():
                typer.echo(f"  {name:<15} {entry.address}")
        typer.echo(f"  {'data':<15} {settings.data_dir.resolve()}")
        if services:
            typer.echo(
                f"  {'API + dApp':<15} http://{settings.api_host}:{settings.api_port}/ (docs: /docs)"
                + (f", {replicas} processes" if replicas > 1 else "")
            )
            typer.echo(f"  {'database':<15} {redact_url(settings.effective_database_url)}")
        typer.echo("press Ctrl-C to stop")
        while not stop.wait(0.5):
            if local and local.process and local.process.poll() is not None:
                raise _fail(
                    f"anvil stopped unexpectedly (code {local.process.returncode}); see {local.log_file}"
                )
    except ChainError as exc:
        raise _fail(str(exc)) from None
    finally:
        stop.set()
        for stopper in reversed(services):
            stopper()
        if local is not None:
            typer.echo("stopping anvil (saving chain state)")
            local.stop()
    typer.echo("stopped")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default SKILLCHAIN_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SKILLCHAIN_API_PORT).")] = None,
) -> None:
    """Run the API (sign-in, marketplace, IPFS gateway). Starting never needs a running chain."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    _configure_logs(settings)
    if host or port:
        settings = settings.model_copy(
            update={"api_host": host or settings.api_host, "api_port": port or settings.api_port}
        )
    typer.echo(f"API on http://{settings.api_host}:{settings.api_port} (docs at /docs)")
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback peer as the
    # client; the app believes it only from SKILLCHAIN_TRUSTED_PROXIES.
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        proxy_headers=False,
        ws_max_size=WS_MAX_BYTES,
    )


@app.command()
def index(
    from_block: Annotated[
        int | None, typer.Option(help="Start here instead of the deployment block.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Catch up to the head, then exit.")] = False,
    reset: Annotated[
        bool, typer.Option("--reset", help="Forget this chain's read model and re-index.")
    ] = False,
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on this port.")] = None,
) -> None:
    """Index contract events into the database (SQLite by default, SKILLCHAIN_DATABASE_URL for PostgreSQL).

    Follows the chain until Ctrl-C. Only one indexer per chain writes a database (leader lock); a
    second one started meanwhile waits as a standby and takes over when the leader stops or dies.
    """
    from indexer.errors import IndexerError
    from indexer.service import build, progress_printer

    settings = _settings()
    _configure_logs(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        service = build(
            settings,
            from_block=from_block,
            reset=reset,
            on_progress=progress_printer(sys.stderr.isatty()),
            standby=None if once else stop,  # a second indexer waits as a standby and takes over
        )
        service.run(once=once, stop=stop)
    except IndexerError as exc:
        raise _fail(str(exc)) from None
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    with service.engine.connect() as conn:
        cp = service.indexer.checkpoint(conn)
    typer.echo(f"indexed up to block {cp.block_number if cp else 'none'}")


@app.command()
def verify(
    credential: Annotated[
        str,
        typer.Argument(
            help="The credential: its CAIP-19 id (eip155:31337/erc721:0x…/7201…), its share link, or "
            "CHAIN_ID:TOKEN_ID (then the contract comes from a deployment record or --contract)."
        ),
    ],
    rpc: Annotated[
        str | None, typer.Option("--rpc", help="JSON-RPC endpoint (default SKILLCHAIN_RPC_URL or local).")
    ] = None,
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="IPFS gateway URL; default: the local embedded store.")
    ] = None,
    contract: Annotated[
        str | None, typer.Option(help="SkillCredential address (default: the deployment record).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check a credential directly against a chain and IPFS, with no Skillchain server involved.

    Exit code 0: valid; 1: invalid or not found; 2: could not check.
    """
    from chain.credential_ref import BadCredentialRef, parse_credential_ref
    from chain.records import load_record, record_path
    from chain.verify_direct import CouldNotCheck, gateway_fetcher, verify_direct

    settings = _settings()
    try:
        ref = parse_credential_ref(credential)
    except BadCredentialRef as exc:
        raise _fail(str(exc), 2) from None
    chain_id, token_id = ref.chain_id, ref.token_id
    record = load_record(
        record_path(chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir)
    )
    known = record.address_of("SkillCredential") if record else None
    if contract is None and ref.contract and known and ref.contract.lower() != known.lower():
        # A link can name any contract; a lookalike could answer "valid" for anything.
        raise _fail(
            f"INVALID  {credential}: contract {ref.contract} is not Skillchain's credential contract on "
            f"chain {chain_id} ({known}); pass --contract to check that contract anyway",
            1,
        )
    address = contract or ref.contract or known
    if ref.contract and not known and contract is None:
        typer.secho(
            f"note: no deployment record for chain {chain_id} here: checking the contract the link names, "
            f"{ref.contract} — make sure it is the credential contract you trust",
            err=True,
            fg=typer.colors.YELLOW,
        )
    if address is None:
        raise _fail(
            f"no deployment record for chain {chain_id}: name the credential by its CAIP-19 id or share "
            "link, or pass --contract",
            2,
        )
    if gateway:
        fetch = gateway_fetcher(gateway)
    else:
        from ipfs.store import EmbeddedStore

        fetch = EmbeddedStore(settings.data_dir / "ipfs").fetch_for_verification

    try:
        result = verify_direct(
            chain_id=chain_id,
            token_id=token_id,
            rpc_url=rpc or settings.effective_rpc_url,
            contract=address,
            fetch=fetch,
            from_block=record.start_block if record else 0,
        )
    except CouldNotCheck as exc:
        raise _fail(f"could not check: {exc}", 2) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        status = "VALID" if result.valid else "INVALID"
        colour = typer.colors.GREEN if result.valid else typer.colors.RED
        typer.secho(f"{status}  credential {chain_id}:{token_id}", fg=colour, bold=True)
        if result.reasons:
            typer.echo(f"  why not:      {', '.join(result.reasons)}")
        if result.exists:
            accredited = "still accredited" if result.issuer_accredited else "no longer accredited"
            checked = "hash-checked" if result.metadata else "not available"
            typer.echo(f"  holder:       {result.holder}")
            typer.echo(f"  issuer:       {result.issuer} ({accredited})")
            typer.echo(f"  skill id:     {result.skill_id}")
            typer.echo(f"  issued at:    {result.issued_at}   expires at: {result.expires_at or 'never'}")
            typer.echo(f"  metadata:     ipfs://{result.metadata_cid} ({checked})")
            if result.proof:
                typer.echo(
                    f"  on-chain:     chain {result.proof.chain_id}, contract {result.proof.contract}, "
                    f"block {result.proof.block_number}, tx {result.proof.transaction}"
                )
    raise typer.Exit(0 if result.valid else 1)


payments_app = typer.Typer(
    help="Card payments (Stripe Checkout, Razorpay Payment Links) funding on-chain escrow."
)
app.add_typer(payments_app, name="payments")


def _payments() -> Payments:
    from api.payments.setup import start_payments
    from db.engine import make_engine
    from db.migrate import upgrade

    settings = _settings().model_copy(update={"payments_worker": False})
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    payments = start_payments(settings, engine)
    if payments is None:
        raise _fail(
            "card payments are not configured: set SKILLCHAIN_STRIPE_SECRET_KEY and "
            "SKILLCHAIN_STRIPE_WEBHOOK_SECRET, or SKILLCHAIN_RAZORPAY_KEY_ID, _KEY_SECRET and _WEBHOOK_SECRET"
        )
    return payments


@payments_app.command("reconcile")
def payments_reconcile(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fund every paid card payment that was never funded (e.g. while the webhook was down), once."""
    result = _payments().reconcile()
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(
        f"paid sessions seen: {result['paid_sessions']}, newly queued: {result['queued']}, "
        f"jobs processed: {result['processed']}"
    )


@payments_app.command("worker")
def payments_worker(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
) -> None:
    """Work through the payment job queue (funding, chargeback disputes, refunds)."""
    payments = _payments()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        done = payments.process_jobs()
        if done:
            typer.echo(f"processed {done} job(s)")
        if once or stop.wait(1.0):
            return


messages_app = typer.Typer(help="Messages at rest: encryption keys and their rotation.")
app.add_typer(messages_app, name="messages")


@messages_app.command("new-key")
def messages_new_key(
    key_id: Annotated[str | None, typer.Option("--id", help="Key id (default: a random one).")] = None,
) -> None:
    """Print a fresh key entry for SKILLCHAIN_MESSAGE_KEYS (put it first to rotate; keep the old ones)."""
    from api.messages.sealing import new_key_line

    typer.echo(new_key_line(key_id))


@messages_app.command("rekey")
def messages_rekey() -> None:
    """Re-seal every message an older key sealed with the current (first) key; then the old key can be
    removed from SKILLCHAIN_MESSAGE_KEYS. Safe to run while the API serves; safe to interrupt."""
    from api.messages.sealing import SealingError, open_sealer
    from api.messages.service import rekey, unreadable
    from db.engine import make_engine
    from db.migrate import upgrade

    settings = _settings()
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    secret = settings.message_keys.get_secret_value() if settings.message_keys else None
    try:
        sealer = open_sealer(secret, settings.data_dir)
    except SealingError as e:
        raise _fail(f"SKILLCHAIN_MESSAGE_KEYS: {e}") from None
    total = 0
    while True:
        with engine.begin() as conn:
            done = rekey(conn, sealer)
        total += done
        if done:
            typer.echo(f"re-sealed {total} message(s) so far")
        else:
            break
    with engine.connect() as conn:
        lost = unreadable(conn, sealer)
    typer.echo(f"done: everything readable is sealed with key {sealer.current!r} ({total} re-sealed)")
    if lost:
        typer.echo(f"{lost} row(s) are sealed with keys no longer configured: nobody can read them")


room_app = typer.Typer(help="The session room's signalling protocol.")
app.add_typer(room_app, name="room")


@room_app.command("schema")
def room_schema() -> None:
    """Print the JSON schema of every WebSocket frame (both directions) and the close codes."""
    from api.room.protocol import schemas

    typer.echo(json.dumps(schemas(), indent=2, sort_keys=True))


matching_app = typer.Typer(help="Recommendations, career paths and fraud signals.")
app.add_typer(matching_app, name="matching")


@matching_app.command("train")
def matching_train() -> None:
    """Build a model snapshot from the read model (the API serves /recommendations from it)."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from matching.service import train

    settings = _settings()
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    train(engine, settings.chain_id, settings.data_dir, relayers=set(settings.funders), log=typer.echo)


ipfs_app = typer.Typer(help="Content addressing identical to Kubo's `ipfs add`, and the local store.")
app.add_typer(ipfs_app, name="ipfs")
CidVersion = Annotated[
    int, typer.Option("--cid-version", min=0, max=1, help="0 (Kubo's default) or 1 (raw leaves).")
]


def _store() -> EmbeddedStore:
    from ipfs.store import EmbeddedStore

    return EmbeddedStore(_settings().data_dir / "ipfs")


@ipfs_app.command("add")
def ipfs_add(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="File to add.")],
    cid_version: CidVersion = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Add a file to the embedded store and pin it; prints the CID `ipfs add` would print."""
    with file.open("rb") as stream:
        result = _store().add(stream, cid_version=cid_version)
    _record_manual_pin(result.cid)
    if as_json:
        typer.echo(json.dumps({"cid": result.cid, "size": result.size, "name": file.name}))
        return
    typer.echo(f"added {result.cid} {file.name}")


def _record_manual_pin(cid: str) -> None:
    """Pins made by hand are the operator's: `ipfs gc` keeps them (recorded as kind "pinned")."""
    from sqlalchemy import select

    from db.documents import stored_documents
    from db.engine import make_engine
    from db.migrate import upgrade

    engine = make_engine(_settings().effective_database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            if conn.execute(select(stored_documents.c.cid).where(stored_documents.c.cid == cid)).first():
                conn.execute(
                    stored_documents.update().where(stored_documents.c.cid == cid).values(kind="pinned")
                )
            else:
                conn.execute(
                    stored_documents.insert().values(
                        cid=cid, digest="", kind="pinned", created_at=int(time.time())
                    )
                )
    finally:
        engine.dispose()


@ipfs_app.command("cid")
def ipfs_cid(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="File to hash.")],
    cid_version: CidVersion = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Print the CID of a file without storing anything (like `ipfs add --only-hash -Q`)."""
    from ipfs.unixfs import add_stream

    with file.open("rb") as stream:
        cid, size = add_stream(stream, cid_version=cid_version)
    typer.echo(json.dumps({"cid": str(cid), "size": size}) if as_json else str(cid))


@ipfs_app.command("get")
def ipfs_get(
    cid: Annotated[str, typer.Argument(help="CID to fetch.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write a file from the embedded store, verifying every block."""
    from ipfs.errors import IpfsError

    store = _store()
    try:
        store.verify(cid)
        if output:
            with output.open("wb") as out:
                for chunk in store.cat(cid):
                    out.write(chunk)
        else:
            for chunk in store.cat(cid):
                sys.stdout.buffer.write(chunk)
    except IpfsError as exc:
        raise _fail(str(exc)) from None


@ipfs_app.command("export-car")
def ipfs_export_car(
    cid: Annotated[str, typer.Argument(help="Root CID.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="CAR file to write.")] = Path("out.car"),
) -> None:
    """Export a DAG as CAR v1 (import it into Kubo with `ipfs dag import`)."""
    from ipfs.errors import IpfsError

    store = _store()
    try:
        store.verify(cid)
        with output.open("wb") as out:
            for piece in store.export_car(cid):
                out.write(piece)
    except IpfsError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {output}")


@ipfs_app.command("import-car")
def ipfs_import_car(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import a CAR v1 file into the embedded store and pin its roots."""
    from ipfs.errors import IpfsError

    try:
        with file.open("rb") as stream:
            roots = _store().import_car(stream)
    except IpfsError as exc:
        raise _fail(str(exc)) from None
    for root in roots:
        typer.echo(f"pinned root {root}")


def run_storage_gc(
    settings: Settings, *, dry_run: bool = False, log: Callable[[str], None] = typer.echo
) -> GcReport:
    """One gc run over the configured database and store (the CLI command and `up`'s schedule)."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from ipfs.backend import open_store
    from skillchain.storage_gc import collect

    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
        store = open_store(
            data_dir=settings.data_dir, kubo_api=str(settings.ipfs_api) if settings.ipfs_api else None
        )
        return collect(
            engine,
            store,
            now=int(time.time()),
            grace=settings.ipfs_gc_grace,
            evidence_retention=settings.evidence_retention,
            dry_run=dry_run,
            log=log,
        )
    finally:
        engine.dispose()


@ipfs_app.command("gc")
def ipfs_gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Unpin documents nobody needs any more, then delete the blocks no pin reaches.

    Kept: what the chain names (terms, deliverables, review comments, credential metadata,
    revocation reasons), offers and vouchers while their signatures can be used, dispute evidence
    until settlement plus SKILLCHAIN_EVIDENCE_RETENTION, anything stored within
    SKILLCHAIN_IPFS_GC_GRACE, and what you pinned with `skillchain ipfs add`. `skillchain up` runs
    this every SKILLCHAIN_IPFS_GC_INTERVAL seconds.
    """
    from ipfs.errors import IpfsError

    try:
        report = run_storage_gc(_settings(), dry_run=dry_run, log=lambda _line: None)
    except IpfsError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    verb = "would unpin" if dry_run else "unpinned"
    typer.echo(f"{report.pins} pins: {verb} {len(report.removed)}")
    for reason, count in sorted(report.kept.items()):
        typer.echo(f"  kept {count:>6}  {reason}")
    for cid in report.removed:
        typer.echo(f"  {verb} {cid}")
    if report.blocks_freed is not None and not dry_run:
        typer.echo(f"deleted {report.blocks_freed} unreachable blocks")


def replicas_refusal(settings: Settings) -> str | None:
    """Why several API processes cannot run with these settings (None: they can)."""
    if settings.redis_url or settings.effective_database_url.startswith(("postgresql", "postgres")):
        return None
    return (
        "several API replicas need a bus that spans processes: set SKILLCHAIN_DATABASE_URL to PostgreSQL "
        "(LISTEN/NOTIFY) or SKILLCHAIN_REDIS_URL; on SQLite the bus is in-process (see docs/operating.md)"
    )


def _configure_logs(settings: Settings) -> None:
    from api.observability import configure_logging

    configure_logging(settings.log_level, json_lines=settings.log_format == "json")


def _start_api_processes(settings: Settings, replicas: int) -> Callable[[], None]:
    """`replicas` API processes sharing one listening socket (uvicorn's workers); each reads the same
    SKILLCHAIN_ environment, so each is the same app."""
    import subprocess

    import httpx

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--workers",
            str(replicas),
            "--host",
            settings.api_host,
            "--port",
            str(settings.api_port),
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise _fail(
                f"the API processes exited (code {proc.returncode}); is port {settings.api_port} free?"
            )
        try:
            if (
                httpx.get(f"http://{settings.api_host}:{settings.api_port}/health", timeout=1).status_code
                == 200
            ):
                break
        except httpx.HTTPError:
            time.sleep(0.2)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()

    return stop


def _start_services(settings: Settings, stop: threading.Event, replicas: int = 1) -> list[Callable[[], None]]:
    """The indexer on a thread beside the chain, and the API: on a thread, or as `replicas` processes.
    Returns functions that stop them."""
    import uvicorn

    from api.app import create_app
    from indexer import metrics
    from indexer.runner import Progress
    from indexer.service import build

    def count(p: Progress) -> None:  # the API's /metrics shows the indexer of `up` too
        metrics.EVENTS.inc(p.events)
        metrics.BLOCKS.set(p.block)
        metrics.HEAD.set(p.head)

    stoppers: list[Callable[[], None]] = []
    indexer = build(settings, on_progress=count)
    indexer_thread = threading.Thread(
        target=indexer.run, kwargs={"once": False, "stop": stop}, name="indexer", daemon=True
    )
    indexer_thread.start()
    stoppers.append(lambda: indexer_thread.join(timeout=10))
    if replicas > 1:
        stoppers.append(_start_api_processes(settings, replicas))
        return stoppers

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            proxy_headers=False,  # X-Forwarded-For only from SKILLCHAIN_TRUSTED_PROXIES (the app decides)
            ws_max_size=WS_MAX_BYTES,
        )
    )
    api_thread = threading.Thread(target=server.run, name="api", daemon=True)
    api_thread.start()

    def stop_api() -> None:
        server.should_exit = True
        api_thread.join(timeout=10)

    stoppers.append(stop_api)
    if settings.ipfs_gc_interval:
        gc_thread = threading.Thread(target=_gc_schedule, args=(settings, stop), name="ipfs-gc", daemon=True)
        gc_thread.start()
        stoppers.append(lambda: gc_thread.join(timeout=10))
    deadline = time.monotonic() + 30
    while not server.started and api_thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise _fail(f"the API could not start on {settings.api_host}:{settings.api_port} (port in use?)")
    return stoppers


def _gc_schedule(settings: Settings, stop: threading.Event) -> None:
    """`ipfs gc` every SKILLCHAIN_IPFS_GC_INTERVAL seconds while `up` runs; a failed run is logged
    and retried at the next interval (it changes nothing it cannot finish)."""
    while not stop.wait(settings.ipfs_gc_interval):
        try:
            report = run_storage_gc(settings, log=lambda _line: None)
            typer.echo(f"ipfs gc: {report}")
        except Exception as exc:  # noqa: BLE001 - a background job must not die on one failure
            typer.secho(f"ipfs gc failed (retried in {settings.ipfs_gc_interval} s): {exc}", fg="yellow")


def run() -> None:  # pragma: no cover - console entry point wrapper
    app()
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    app()
