"""Range sizing of the reader: shrinks in proportion to an oversized answer, grows on small ones."""

from __future__ import annotations

import pytest

from indexer.reader import RangePolicy, RangeReader
from indexer.rpc import RpcClient


@pytest.fixture
def reader() -> RangeReader:
    policy = RangePolicy({}, 1, max_range=64, initial_range=8, target_logs=5_000, concurrency=1)
    return RangeReader(RpcClient("http://127.0.0.1:9"), policy, {})  # never called: sizing only


@pytest.mark.parametrize(
    ("answered", "expected"),
    [
        (26_000, 1),  # a dense chain's first answer: straight to what fits the target
        (12_000, 3),  # in proportion (8 * 5,000 / 12,000)
        (6_000, 4),  # at least halved
        (5_000, 8),  # on target: unchanged
        (1_250, 8),
        (1_249, 16),  # small: doubled
    ],
)
def test_the_next_range_follows_the_answer(reader: RangeReader, answered: int, expected: int) -> None:
    reader.adapt(answered)
    assert reader.range == expected


def test_growth_stops_at_the_maximum(reader: RangeReader) -> None:
    for _ in range(10):
        reader.adapt(0)
    assert reader.range == 64
