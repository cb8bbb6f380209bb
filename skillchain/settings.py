"""The one place that reads configuration: environment variables prefixed ``SKILLCHAIN_`` and ``.env``."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOCAL_CHAIN_ID = 31337


class IceServer(BaseModel):
    """One RTCIceServer of the session room (the browser's RTCPeerConnection configuration)."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class Settings(BaseSettings):
    """Skillchain configuration. Every field can be set as ``SKILLCHAIN_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="SKILLCHAIN_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(
        Path(".skillchain"),
        description="Folder for the embedded defaults: local chain state, SQLite, IPFS blocks.",
    )
    rpc_url: AnyHttpUrl | None = Field(
        None, description="JSON-RPC endpoint to use instead of starting a local anvil."
    )
    public_rpc_url: AnyHttpUrl | None = Field(
        None,
        description="JSON-RPC endpoint the dApp offers wallets when they add the chain "
        "(default: the one the API uses).",
    )
    chain_name: str | None = Field(None, description="The chain's name in the dApp (default: by chain id).")
    explorer_url: AnyHttpUrl | None = Field(
        None, description="Block explorer the dApp links transactions to (none on a local chain)."
    )
    anvil_host: str = Field("127.0.0.1", description="Interface the local anvil listens on.")
    anvil_port: int = Field(8545, ge=1, le=65535, description="Port of the local anvil.")
    chain_id: int = Field(LOCAL_CHAIN_ID, gt=0, description="Chain id of the local anvil.")
    block_time: int = Field(
        0, ge=0, le=3600, description="Seconds between local blocks; 0 mines on each transaction."
    )
    api_host: str = Field("127.0.0.1", description="Interface the API listens on.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    chain_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated chain ids accepted for sign-in; defaults to known deployments.",
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["json", "text"] = Field(
        "json", description="Logs as JSON lines (one object per line, with the request id) or plain text."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql://user@host/db; default: SQLite in the data folder.",
    )
    siwe_domain: str | None = Field(
        None, description="Domain sign-in messages must name; default: API host:port."
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#\s]+$",
        description="Origin people reach the dApp at, for share links (never taken from a request's Host "
        "header); default: http://API host:port.",
    )
    auth_rate_limit: int = Field(10, ge=0, description="Sign-in requests per minute per client; 0 = off.")
    redis_url: str | None = Field(
        None,
        description="Redis for several API replicas: the bus (pub/sub) and rate limits shared by all; "
        "e.g. redis://127.0.0.1:6379/0.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is "
        "believed (for rate limits); empty: the direct peer is the client.",
    )
    stream_per_user: int = Field(5, ge=0, description="Open live streams a wallet may hold; 0 = no cap.")
    outbox_retention: int = Field(
        7 * 86400,
        ge=0,
        description="Seconds the live stream's items stay replayable (a reconnect's Last-Event-ID); "
        "0 = forever.",
    )
    ipfs_gc_interval: int = Field(
        6 * 3600,
        ge=0,
        description="Seconds between `skillchain ipfs gc` runs inside `skillchain up`; 0 = never.",
    )
    ipfs_gc_grace: int = Field(
        86400,
        ge=0,
        description="Seconds a stored document is kept before gc may remove it (its transaction may "
        "not be mined yet).",
    )
    evidence_retention: int = Field(
        180 * 86400,
        ge=0,
        description="Seconds dispute evidence is kept after its engagement is settled.",
    )
    document_quota: int = Field(
        200,
        ge=0,
        description="Documents (terms, deliverables, evidence, comments, metadata) a wallet may have the API "
        "store and pin per hour; 0 = off.",
    )
    public_write_rate_limit: int = Field(
        30,
        ge=0,
        description="Unauthenticated writes (presentation challenges) per minute per client; 0 = off.",
    )
    session_ttl: int = Field(24 * 3600, ge=60, description="Seconds a sign-in session lasts.")
    rpc_urls: Annotated[dict[int, str], NoDecode] = Field(
        default_factory=dict,
        description="Extra JSON-RPC endpoints per chain id for EIP-1271 checks: '1=https://...,10=https://...'.",
    )
    finality_depth: int = Field(
        12, ge=0, le=10_000, description="Blocks after which the indexer treats a block as final."
    )
    index_poll_interval: float = Field(
        0.2, gt=0, le=60, description="Seconds between head polls when caught up."
    )
    index_helper_min_events: int = Field(
        50_000,
        ge=-1,
        description="A catch-up expected to read at least this many events reads them in a helper "
        "process on another core (and rebuilds secondary indexes at its end); -1 = never.",
    )
    max_concurrent_requests: int = Field(
        40,
        ge=0,
        description="Requests one API process works on at once (the rest wait, without holding a thread "
        "or a database connection); streams and WebSockets are not counted; 0 = no limit.",
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest request body the API accepts.")
    stripe_secret_key: SecretStr | None = Field(
        None, description="Stripe secret key; unset = card payments off (503)."
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="Stripe webhook signing secret (whsec_...)."
    )
    stripe_api_base: str | None = Field(
        None, description="Stripe API base URL override (tests point it at a stand-in)."
    )
    razorpay_key_id: str | None = Field(
        None,
        max_length=64,
        description="Razorpay API key id (rzp_live_... or rzp_test_...); with the two secrets.",
    )
    razorpay_key_secret: SecretStr | None = Field(None, description="Razorpay API key secret.")
    razorpay_webhook_secret: SecretStr | None = Field(
        None, description="The secret set on the Razorpay webhook (signs X-Razorpay-Signature)."
    )
    razorpay_api_base: str | None = Field(
        None, description="Razorpay API base URL override (tests point it at a stand-in)."
    )
    relayer_key: SecretStr | None = Field(
        None, description="Card relayer's key (FUNDER_ROLE); on a local chain anvil account 8 is used."
    )
    stablecoin: str | None = Field(
        None, description="Stablecoin card payments fund in; default: the local tUSD."
    )
    relayer_wait_seconds: float = Field(
        30.0,
        ge=0,
        le=600,
        description="Seconds the payments worker waits for a relayer transaction to be mined before it "
        "moves on (it looks again on its next pass).",
    )
    relayer_stuck_seconds: int = Field(
        120,
        ge=1,
        le=86400,
        description="A relayer transaction not mined this many seconds after it was sent is re-sent at the "
        "same nonce with fees 12.5% higher (and again after as long), up to SKILLCHAIN_RELAYER_MAX_FEE_GWEI.",
    )
    relayer_max_fee_gwei: Decimal = Field(
        Decimal(500),
        gt=0,
        description="The highest max fee per gas (gwei) the relayer pays; at the cap a stuck transaction is "
        "left as it is and an alert is logged and counted (skillchain_relayer_fee_cap_reached_total).",
    )
    booking_hold_minutes: int = Field(
        10, ge=1, le=24 * 60, description="How long a slot is held while the learner pays."
    )
    booking_respond_hours: int = Field(
        48,
        ge=1,
        le=14 * 24,
        description="Hours a mentor has to accept or decline a paid booking request (never past the "
        "session's start); after that the slot is free again and the learner may take the money back.",
    )
    reschedule_grace_days: int = Field(
        7, ge=0, le=90, description="A session's on-chain due date is its end plus this grace."
    )
    message_keys: SecretStr | None = Field(
        None,
        description="Keys that encrypt messages at rest: 'id:base64-of-32-bytes,...'; the first seals new "
        "messages, every one still opens old ones (rotate by putting a new key first). Unset: a key "
        "generated once in the data directory (one node only: replicas need this set, the same on each).",
    )
    message_edit_minutes: int = Field(
        10, ge=0, le=24 * 60, description="Minutes after sending within which a message may be edited."
    )
    message_rate_limit: int = Field(
        60, ge=0, description="Messages a wallet may send per minute (all threads); 0 = off."
    )
    message_attachment_bytes: int = Field(
        5 * 1024 * 1024,
        ge=1024,
        le=50 * 1024 * 1024,
        description="Largest attachment (an image or a PDF) a message may carry, in bytes.",
    )
    room_grace_minutes: int = Field(
        15, ge=0, le=24 * 60, description="Minutes a session room stays open after the session's end."
    )
    room_ice_servers: list[IceServer] = Field(
        default_factory=list,
        description="STUN/TURN servers for the session room, as JSON: "
        '\'[{"urls": "stun:stun.example.org:3478"}, {"urls": "turn:turn.example.org", "username": "u", '
        '"credential": "p"}]\'. None by default: host candidates connect browsers on one network.',
    )
    message_max_chars: int = Field(
        10_000, ge=1, le=100_000, description="Longest message body, in characters."
    )
    payments_worker: bool = Field(True, description="Run the payment job worker inside the API process.")
    smtp_host: str | None = Field(
        None, max_length=253, description="SMTP server for e-mail notifications; unset: e-mail is off."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 submission with STARTTLS).")
    smtp_starttls: bool = Field(True, description="Upgrade SMTP with STARTTLS (off: a local relay).")
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    mail_from: str = Field(
        "Skillchain <no-reply@skillchain.invalid>", max_length=320, description="From: of every e-mail sent."
    )
    confirmation_mail_limit: int = Field(
        120,
        ge=0,
        description="Confirmation mails per hour from this deployment in all (every replica; 0 = off): "
        "beside one a minute per wallet and three a day per address, so the API never becomes a mail cannon.",
    )
    mail_interval: float = Field(
        10.0, gt=0, le=3600, description="Seconds between the mailer's looks for new notifications to mail."
    )
    ipfs_api: AnyHttpUrl | None = Field(
        None, description="Kubo RPC API (e.g. http://127.0.0.1:5001); default: the embedded store."
    )

    deployments_dir: Path = Field(
        Path("deployments"), description="Folder of committed testnet/mainnet deployment records."
    )
    deployer_key: SecretStr | None = Field(
        None, description="Private key that deploys to a non-local chain (never commit it)."
    )
    admin: str | None = Field(None, description="Admin of the contracts; defaults to the deployer.")
    admin_delay: int = Field(
        2 * 24 * 3600, ge=0, description="Seconds a new admin waits before accepting (two-step)."
    )
    treasury: str | None = Field(None, description="Receives protocol fees; defaults to the admin.")
    fee_bps: int = Field(250, ge=0, le=1000, description="Protocol fee in basis points (max 1000).")
    arbiters: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated arbiter addresses (ARBITER_ROLE)."
    )
    issuers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated accredited issuer addresses (ISSUER_ROLE)."
    )
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated wallets allowed on the /admin routes."
    )
    funders: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated card-payment relayer addresses (FUNDER_ROLE).",
    )
    allowed_tokens: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated ERC-20 addresses escrow accepts besides ETH (e.g. USDC on the chain).",
    )
    review_minimum_wei: int = Field(
        10**15,
        gt=0,
        description="Smallest ETH amount (wei, fee included) that must reach a provider for a review.",
    )
    token_review_minimums: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description=(
            "token=amount pairs (base units) for every allowed ERC-20: the smallest amount that must reach "
            "a provider for its engagement to be reviewable. Deployment refuses an allowed token without one."
        ),
    )
    test_stablecoin_review_minimum: int = Field(
        10**6, gt=0, description="Review minimum of the local test stablecoin (tUSD has 6 decimals: 1 tUSD)."
    )
    price_feeds: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="PAIR=address pairs of Chainlink AggregatorV3 feeds quotes convert through, e.g. "
        "'ETH/USD=0x5f4e...,EUR/USD=0xb49f...' (every pair is CODE/USD). Unset on a local chain: the mock "
        "feeds `skillchain up` deployed.",
    )
    price_feed_max_age: int = Field(
        3600,
        ge=60,
        le=7 * 86400,
        description="Seconds after its last update a feed stops pricing quotes, for a pair not in "
        "SKILLCHAIN_PRICE_FEED_MAX_AGES (Chainlink's ETH/USD updates at least hourly).",
    )
    price_feed_max_ages: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=lambda: {"EUR/USD": 90000, "GBP/USD": 90000, "INR/USD": 90000},
        description="PAIR=seconds: a feed's own limit, after its heartbeat (Chainlink's fiat feeds update "
        "at least daily: 25 hours by default).",
    )
    test_price_feeds: Annotated[dict[str, Decimal], NoDecode] = Field(
        default_factory=lambda: {
            "ETH/USD": Decimal("3000"),
            "EUR/USD": Decimal("1.08"),
            "GBP/USD": Decimal("1.27"),
            "INR/USD": Decimal("0.012"),
        },
        description="PAIR=price of the mock feeds a local chain gets (`skillchain up`): USD per unit.",
    )

    @field_validator("chain_ids", mode="before")
    @classmethod
    def _split_chain_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _split_rpc_urls(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("expected chainId=url pairs separated by commas")
            return {int(k.strip()): v.strip() for k, v in pairs}
        return value

    @field_validator("price_feeds", "test_price_feeds", "price_feed_max_ages", mode="before")
    @classmethod
    def _split_pairs(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("expected PAIR=value entries separated by commas, e.g. ETH/USD=0x5f4e...")
            return {k.strip().upper(): v.strip() for k, v in pairs}
        return value

    @field_validator("price_feeds")
    @classmethod
    def _feeds(cls, value: dict[str, str]) -> dict[str, str]:
        for pair, address in value.items():
            _feed_pair(pair)
            if not (address.startswith("0x") and len(address) == 42):
                raise ValueError(f"the {pair} feed {address!r} is not a 0x-prefixed 20-byte address")
            int(address, 16)
        return {pair.upper(): address for pair, address in value.items()}

    @field_validator("price_feed_max_ages")
    @classmethod
    def _feed_ages(cls, value: dict[str, int]) -> dict[str, int]:
        for pair, age in value.items():
            _feed_pair(pair)
            if not 60 <= age <= 7 * 86400:
                raise ValueError(f"the {pair} feed's max age must be 60 s to 7 days (got {age})")
        return {pair.upper(): age for pair, age in value.items()}

    @field_validator("test_price_feeds")
    @classmethod
    def _test_feeds(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for pair, price in value.items():
            _feed_pair(pair)
            if price <= 0:
                raise ValueError(f"the {pair} mock price must be positive (got {price})")
        return {pair.upper(): price for pair, price in value.items()}

    @field_validator("token_review_minimums", mode="before")
    @classmethod
    def _split_minimums(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("expected token=amount pairs separated by commas")
            return {k.strip(): v.strip() for k, v in pairs}
        return value

    @field_validator("token_review_minimums")
    @classmethod
    def _minimums(cls, value: dict[str, int]) -> dict[str, int]:
        for token, minimum in value.items():
            if not (token.startswith("0x") and len(token) == 42):
                raise ValueError(f"{token!r} is not a 0x-prefixed 20-byte address")
            int(token, 16)
            if minimum <= 0:
                raise ValueError(f"the review minimum of {token} must be positive (got {minimum})")
        return {token.lower(): minimum for token, minimum in value.items()}

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
        return value

    @field_validator("arbiters", "issuers", "funders", "admins", "allowed_tokens", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("arbiters", "issuers", "funders", "admins", "allowed_tokens")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_checksummed(item) for item in value]

    @field_validator("admin", "treasury")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _checksummed(value)

    @field_validator("message_keys")
    @classmethod
    def _message_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Refused at start-up in words, not at the first message."""
        from skillchain.message_keys import parse_keys

        if value is not None:
            parse_keys(value.get_secret_value())
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @property
    def local_rpc_url(self) -> str:
        return f"http://{self.anvil_host}:{self.anvil_port}"

    @property
    def effective_rpc_url(self) -> str:
        return str(self.rpc_url).rstrip("/") if self.rpc_url else self.local_rpc_url

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'skillchain.db').resolve()}"

    @property
    def effective_siwe_domain(self) -> str:
        return self.siwe_domain or f"{self.api_host}:{self.api_port}"

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


def _checksummed(item: str) -> str:
    """An address in its EIP-55 form, so every comparison with a checksummed read-model value holds;
    a mixed-case address with a wrong checksum is refused (it is a typo, not an address)."""
    from eth_utils.address import is_checksum_address, to_checksum_address

    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", item):
        raise ValueError(f"{item!r} is not a 0x-prefixed 20-byte address")
    digits = item[2:]
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(item):
        raise ValueError(f"{item!r} has a wrong EIP-55 checksum (write it all lower case, or exactly)")
    return str(to_checksum_address(item))


class SettingsError(Exception):
    """Raised when configuration is invalid; the message names each variable and its problem."""


def load_settings() -> Settings:
    """Build settings from the environment, turning validation errors into plain words."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            secret = any(word in field.lower() for word in ("key", "secret", "password", "token"))
            got = "its value is not shown: it is a secret" if secret else f"got {err.get('input')!r}"
            lines.append(f"SKILLCHAIN_{field.upper()}: {err['msg']} ({got})")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def _feed_pair(pair: str) -> None:
    if not re.fullmatch(r"[A-Z]{3,5}/USD", pair.upper()):
        raise ValueError(f"{pair!r} is not a CODE/USD pair (feeds quote USD per unit, e.g. ETH/USD, EUR/USD)")
