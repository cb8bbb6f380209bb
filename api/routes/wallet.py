"""What a wallet needs before it acts: the chain to be on (for `wallet_addEthereumChain`), the
tokens it may pay in (symbol and decimals, so amounts show in human units) and what the escrow
owes the signed-in wallet (withdrawals are pull payments)."""

from __future__ import annotations

from functools import lru_cache

from eth_typing import ChecksumAddress
from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select, tuple_
from web3 import Web3

from api.deps import ChainContext, ChainDep, ConnDep, CurrentSession, SettingsDep
from api.models import ERRORS
from api.pagination import CursorQuery, LimitQuery, Page, cursor_keys, page_of
from db.chain import escrow_config, escrow_owed, withdrawals

router = APIRouter(tags=["wallet"], responses=ERRORS)

ETH = "0x0000000000000000000000000000000000000000"
KNOWN_CHAINS = {1: "Ethereum", 11155111: "Sepolia", 17000: "Holesky", 31337: "Local chain (anvil)"}
ERC20_META = [
    {
        "name": "symbol",
        "inputs": [],
        "outputs": [{"type": "string"}],
        "stateMutability": "view",
        "type": "function",
    },
    {
        "name": "decimals",
        "inputs": [],
        "outputs": [{"type": "uint8"}],
        "stateMutability": "view",
        "type": "function",
    },
]


class TokenPublic(BaseModel):
    address: str = Field(description="ERC-20 address; the zero address is the chain's native ETH")
    symbol: str
    decimals: int


class ChainPublic(BaseModel):
    chain_id: int
    name: str
    rpc_url: str = Field(description="what the dApp offers a wallet that does not know this chain yet")
    explorer_url: str | None
    native_symbol: str = "ETH"
    tokens: list[TokenPublic] = Field(description="what engagements may be paid in, ETH first")
    contracts: dict[str, str] = Field(description="deployed contract addresses by name")
    fee_bps: int = Field(description="the escrow's fee on each milestone, in basis points (rounded down)")


class BalancePublic(BaseModel):
    token: TokenPublic
    amount: str = Field(description="owed in the token's smallest unit, as a decimal string")


@router.get("/chain", response_model=ChainPublic, summary="The chain, tokens and contracts the dApp uses")
def chain_info(settings: SettingsDep, chain: ChainDep, conn: ConnDep) -> ChainPublic:
    return ChainPublic(
        fee_bps=fee_bps(conn, chain),
        chain_id=chain.chain_id,
        name=settings.chain_name or KNOWN_CHAINS.get(chain.chain_id, f"Chain {chain.chain_id}"),
        rpc_url=str(settings.public_rpc_url or settings.effective_rpc_url).rstrip("/"),
        explorer_url=str(settings.explorer_url).rstrip("/") if settings.explorer_url else None,
        tokens=chain_tokens(chain, settings.effective_rpc_url),
        contracts={name: c.address for name, c in chain.record.contracts.items()},
    )


@router.get(
    "/me/balances",
    response_model=Page[BalancePublic],
    summary="What the escrow owes you, per token (withdraw it with POST /withdraw)",
)
def my_balances(
    session: CurrentSession,
    conn: ConnDep,
    settings: SettingsDep,
    chain: ChainDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Page[BalancePublic]:
    tokens = {t.address.lower(): t for t in chain_tokens(chain, settings.effective_rpc_url)}
    after = cursor_keys(cursor, 1, wide_last=True)  # the last token of the previous page, as an integer
    rows = [
        r
        for r in conn.execute(
            select(escrow_owed.c.token, escrow_owed.c.amount)
            .where(escrow_owed.c.chain_id == chain.chain_id, escrow_owed.c.account == session.address)
            .where(escrow_owed.c.amount > 0)
        ).all()
        if after is None or int(r.token, 16) > after[0]
    ]  # a wallet is owed in a handful of tokens at most: sorted here, by the address as a number
    rows.sort(key=lambda r: int(r.token, 16))
    page, next_cursor = page_of(rows, limit, key=lambda r: (int(r.token, 16),))
    data = [
        BalancePublic(
            token=tokens.get(r.token.lower()) or TokenPublic(address=r.token, symbol="?", decimals=18),
            amount=str(r.amount),
        )
        for r in page
    ]
    return Page(data=data, next_cursor=next_cursor, total=len(rows) if after is None else None)


class WithdrawalPublic(BaseModel):
    token: TokenPublic
    amount: str = Field(description="withdrawn, in the token's smallest unit, as a decimal string")
    to: str = Field(description="where it went: your own wallet, or the address you named")
    tx_hash: str
    block_number: int


@router.get(
    "/me/withdrawals",
    response_model=Page[WithdrawalPublic],
    summary="What you withdrew from the escrow, newest first (as indexed)",
)
def my_withdrawals(
    session: CurrentSession,
    conn: ConnDep,
    settings: SettingsDep,
    chain: ChainDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Page[WithdrawalPublic]:
    before = cursor_keys(cursor, 2)  # (block, log index) of the last row of the previous page
    query = select(withdrawals).where(
        withdrawals.c.chain_id == chain.chain_id, withdrawals.c.account == session.address
    )
    if before is not None:
        query = query.where(tuple_(withdrawals.c.block_number, withdrawals.c.log_index) < tuple_(*before))
    rows = conn.execute(
        query.order_by(withdrawals.c.block_number.desc(), withdrawals.c.log_index.desc()).limit(limit + 1)
    ).all()
    page, next_cursor = page_of(list(rows), limit, key=lambda r: (r.block_number, r.log_index))
    tokens = {t.address.lower(): t for t in chain_tokens(chain, settings.effective_rpc_url)} if page else {}
    data = [
        WithdrawalPublic(
            token=tokens.get(r.token.lower()) or TokenPublic(address=r.token, symbol="?", decimals=18),
            amount=str(r.amount),
            to=r.recipient,
            tx_hash=r.tx_hash,
            block_number=r.block_number,
        )
        for r in page
    ]
    return Page(data=data, next_cursor=next_cursor, total=None)


def fee_bps(conn: Connection, chain: ChainContext) -> int:
    """The escrow's fee as indexed (FeeUpdated), else as deployed."""
    fee = conn.execute(
        select(escrow_config.c.fee_bps).where(escrow_config.c.chain_id == chain.chain_id)
    ).scalar()
    return int(fee if fee is not None else chain.record.parameters.get("fee_bps", 0))


def chain_tokens(chain: ChainContext, rpc_url: str) -> list[TokenPublic]:
    """ETH and every token engagements may be paid in, with symbol and decimals."""
    record = chain.record
    addresses = list(record.parameters.get("allowed_tokens", []))
    if "TestStablecoin" in record.contracts:
        addresses.append(record.contracts["TestStablecoin"].address)
    return [TokenPublic(address=ETH, symbol="ETH", decimals=18)] + [
        _token(Web3.to_checksum_address(a), rpc_url) for a in dict.fromkeys(addresses)
    ]


def _token(address: ChecksumAddress, rpc_url: str) -> TokenPublic:
    try:
        return _token_meta(address, rpc_url)
    except Exception:  # noqa: BLE001 - an unreachable node must not break the page (not cached: retried)
        return TokenPublic(address=address, symbol=address[:8], decimals=18)


def read_decimals(address: str, rpc_url: str) -> int | None:
    """A token's own decimals read from the chain, or None when they cannot be read now: never the
    18 that chain_tokens shows for display (6 for USDC would be 10^12 times off)."""
    try:
        return _token_meta(Web3.to_checksum_address(address), rpc_url).decimals
    except Exception:  # noqa: BLE001 - the node is down or the address is no token
        return None


@lru_cache(maxsize=64)
def _token_meta(address: ChecksumAddress, rpc_url: str) -> TokenPublic:
    """An ERC-20's symbol and decimals never change: read once per process."""
    contract = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 5})).eth.contract(
        address=address, abi=ERC20_META
    )
    return TokenPublic(
        address=address,
        symbol=contract.functions.symbol().call(),
        decimals=contract.functions.decimals().call(),
    )
