"""Reading a Chainlink AggregatorV3Interface price feed (or the local MockAggregator, which has the
same interface): the latest answer, its decimals and when it was updated."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from web3 import Web3

# The two functions of AggregatorV3Interface a quote needs (a real Chainlink feed answers these too).
AGGREGATOR_V3 = [
    {
        "name": "decimals",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
        "stateMutability": "view",
        "type": "function",
    },
    {
        "name": "latestRoundData",
        "inputs": [],
        "outputs": [
            {"name": "roundId", "type": "uint80"},
            {"name": "answer", "type": "int256"},
            {"name": "startedAt", "type": "uint256"},
            {"name": "updatedAt", "type": "uint256"},
            {"name": "answeredInRound", "type": "uint80"},
        ],
        "stateMutability": "view",
        "type": "function",
    },
]


@dataclass(frozen=True)
class FeedReading:
    answer: int  # scaled by 10**decimals
    decimals: int
    updated_at: int  # unix seconds
    round_id: int

    @property
    def value(self) -> Decimal:
        """The answer as an exact decimal (e.g. 3000.00000000 USD per ETH)."""
        return Decimal(self.answer).scaleb(-self.decimals)


def read_feed(w3: Web3, address: str) -> FeedReading:
    """One `latestRoundData` and `decimals` call. Raises what web3 raises when the node or the
    contract does not answer."""
    feed: Any = w3.eth.contract(address=Web3.to_checksum_address(address), abi=AGGREGATOR_V3)
    round_id, answer, _started, updated_at, _answered_in = feed.functions.latestRoundData().call()
    return FeedReading(
        answer=int(answer),
        decimals=int(feed.functions.decimals().call()),
        updated_at=int(updated_at),
        round_id=int(round_id),
    )
