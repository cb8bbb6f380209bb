"""Reorgs of depth 1, 2, 5 and 20 (anvil snapshot/revert), deeper than finality, and while stopped:
the read model must equal a clean re-index and agree with the contracts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import Engine

from indexer.errors import ReorgTooDeep
from indexer.rpc import RpcClient
from indexer.runner import Indexer, IndexerConfig
from tests.indexer.activity import Market, dump
from tests.indexer.conftest import Deployed, make_database


def run_once(engine: Engine, deployed: Deployed, depth: int) -> Indexer:
    indexer = Indexer(
        engine, RpcClient(deployed.url), IndexerConfig.from_record(deployed.record, finality_depth=depth)
    )
    indexer.run(once=True)
    return indexer


def clean_reindex(tmp_path: Path, deployed: Deployed) -> dict[str, list[tuple[object, ...]]]:
    for fresh in make_database("sqlite", tmp_path):
        run_once(fresh, deployed, depth=0)
        return dump(fresh)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("reorg_depth", [1, 2, 5, 20])
def test_reorg_leaves_the_same_model_as_a_clean_reindex(
    engine: Engine, deployed: Deployed, tmp_path: Path, reorg_depth: int
) -> None:
    market = Market(deployed.w3, deployed.record, rng=random.Random(reorg_depth))
    market.advance(15)
    w3 = deployed.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[attr-defined]
    try:
        market.advance(reorg_depth)
        indexer = run_once(engine, deployed, depth=25)
        before = dump(engine)
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[attr-defined]
        market.reset_nonces()
        market.rng = random.Random(1000 + reorg_depth)  # a different history
        market.advance(reorg_depth + 1)
        indexer.run(once=True)
        assert indexer.reorgs == 1
        after = dump(engine)
        assert after != before
        assert after == clean_reindex(tmp_path, deployed)
        market.assert_read_model_matches_chain(engine)
    finally:
        snapshot = None


def test_reorg_while_the_indexer_was_stopped_is_caught(
    engine: Engine, deployed: Deployed, tmp_path: Path
) -> None:
    market = Market(deployed.w3, deployed.record, rng=random.Random(99))
    market.advance(5)
    snapshot = deployed.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[attr-defined]
    market.advance(3)
    run_once(engine, deployed, depth=25)  # ...and the indexer stops here
    deployed.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[attr-defined]
    market.reset_nonces()
    market.rng = random.Random(5)
    market.advance(2)  # the new chain is even shorter than the indexed one
    restarted = run_once(engine, deployed, depth=25)
    assert restarted.reorgs == 1
    assert dump(engine) == clean_reindex(tmp_path, deployed)


def test_reorg_deeper_than_finality_stops_with_a_clear_error(engine: Engine, deployed: Deployed) -> None:
    market = Market(deployed.w3, deployed.record, rng=random.Random(3))
    snapshot = deployed.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[attr-defined]
    market.advance(6)
    run_once(engine, deployed, depth=3)
    deployed.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[attr-defined]
    market.reset_nonces()
    market.rng = random.Random(4)
    market.advance(8)
    with pytest.raises(ReorgTooDeep, match="finality depth"):
        run_once(engine, deployed, depth=3)
