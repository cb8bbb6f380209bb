"""Indexing real contract activity into SQLite and PostgreSQL: correctness against the contracts'
views, idempotence, and equality with a clean re-index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select

from db.chain import SECONDARY_INDEXES, chain_events
from indexer.rpc import RpcClient
from indexer.runner import Indexer, IndexerConfig
from tests.indexer.activity import Market, dump
from tests.indexer.conftest import Deployed, make_database


@pytest.fixture(scope="module")
def market(deployed: Deployed) -> Market:
    m = Market(deployed.w3, deployed.record)
    for _ in range(150):
        m.step()
    return m


def index(engine: Engine, deployed: Deployed, **overrides: object) -> Indexer:
    config = IndexerConfig.from_record(deployed.record, **overrides)  # type: ignore[arg-type]
    indexer = Indexer(engine, RpcClient(deployed.url), config)
    indexer.run(once=True)
    return indexer


def test_read_model_matches_the_contracts(engine: Engine, deployed: Deployed, market: Market) -> None:
    indexer = index(engine, deployed, finality_depth=5)
    assert indexer.events_total > 60
    market.assert_read_model_matches_chain(engine)


def test_indexing_the_same_range_twice_changes_nothing(
    engine: Engine, deployed: Deployed, market: Market
) -> None:
    index(engine, deployed, finality_depth=0)
    before = dump(engine)
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(chain_events)).scalar()
    index(engine, deployed, finality_depth=0)  # caught up: nothing new
    assert dump(engine) == before
    with engine.begin() as conn:  # forget the checkpoint: the same range is applied again
        from db.chain import indexer_checkpoints

        conn.execute(indexer_checkpoints.delete())
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        index(engine, deployed, finality_depth=0)
    assert dump(engine) == before  # the failed batch rolled back whole
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(chain_events)).scalar() == events


def test_historical_and_live_paths_build_the_same_model(
    tmp_path: Path, deployed: Deployed, market: Market
) -> None:
    dumps = []
    for depth in (0, 10_000):  # everything historical / everything in the unfinalised window
        for engine in make_database("sqlite", tmp_path):
            index(engine, deployed, finality_depth=depth)
            dumps.append(dump(engine))
    assert dumps[0] == dumps[1]


@pytest.fixture
def sqlite_and_pg(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    for lite in make_database("sqlite", tmp_path):
        for pg in make_database("postgresql", tmp_path):
            yield lite, pg


def test_sqlite_and_postgresql_hold_the_same_rows(
    sqlite_and_pg: tuple[Engine, Engine], deployed: Deployed, market: Market
) -> None:
    lite, pg = sqlite_and_pg
    index(lite, deployed, finality_depth=3)
    index(pg, deployed, finality_depth=3)
    assert dump(lite) == dump(pg)


def test_a_catch_up_read_by_the_helper_process_builds_the_same_model(
    tmp_path: Path, deployed: Deployed, market: Market
) -> None:
    dumps = []
    # offload_min_events=0: everything after the first range is read by `python -m indexer.offload`.
    for offload in (None, 0):
        for engine in make_database("sqlite", tmp_path):
            indexer = index(
                engine, deployed, finality_depth=0, initial_range=2, max_range=4, offload_min_events=offload
            )
            assert indexer.events_total > 60
            assert secondary_indexes(engine) == EXPECTED_INDEXES  # dropped for the catch-up, built again
            dumps.append(dump(engine))
    assert dumps[0] == dumps[1]


EXPECTED_INDEXES = {index.name for index in SECONDARY_INDEXES}


def secondary_indexes(engine: Engine) -> set[str]:
    found = set()
    for table in {index.table.name for index in SECONDARY_INDEXES}:  # type: ignore[union-attr]
        found.update(str(ix["name"]) for ix in inspect(engine).get_indexes(table))
    return found


def test_indexes_left_dropped_by_a_crash_are_built_again_on_start(
    engine: Engine, deployed: Deployed, market: Market
) -> None:
    index(engine, deployed, finality_depth=0)
    with engine.begin() as conn:  # what a kill during a long catch-up leaves behind
        for ix in SECONDARY_INDEXES:
            ix.drop(conn)
    assert secondary_indexes(engine) == set()
    index(engine, deployed, finality_depth=0)
    assert secondary_indexes(engine) == EXPECTED_INDEXES


def test_the_helper_process_reports_its_errors(deployed: Deployed) -> None:
    from indexer.errors import FatalRpcError
    from indexer.offload import DecodeProcess
    from tests.net import free_port

    policy = IndexerConfig.from_record(deployed.record).range_policy()
    nobody = RpcClient(f"http://127.0.0.1:{free_port()}", attempts=2, backoff=0.01)
    with DecodeProcess(nobody, policy, {}, 1, 10) as child:
        with pytest.raises(FatalRpcError, match="eth_getLogs kept failing after 2 attempts"):
            list(child.ranges())
        assert child.proc.wait(timeout=10) == 0  # it reported the error and exited
