"""Running the indexer from configuration: deployment record, database, leader lock, progress output."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from bus.wake import open_bus
from chain.records import load_record, record_path
from db.engine import make_engine
from db.migrate import upgrade
from indexer import metrics
from indexer.errors import IndexerError
from indexer.rpc import RpcClient
from indexer.runner import Indexer, IndexerConfig, Progress, acquire_leader_lock, reset_chain
from skillchain.settings import Settings

log = logging.getLogger("skillchain.indexer")


class NoDeployment(IndexerError):
    """Raised when no deployment record exists for the chain behind the RPC."""


@dataclass
class IndexerService:
    indexer: Indexer
    engine: Engine
    release: Callable[[], None]

    def run(self, *, once: bool, stop: threading.Event | None = None) -> None:
        try:
            self.indexer.run(once=once, stop=stop)
        finally:
            self.release()


def progress_printer(tty: bool) -> Callable[[Progress], None]:
    """A one-line live display on a terminal; one JSON log line every 2 s otherwise."""
    last = [0.0]

    def show(p: Progress) -> None:
        metrics.EVENTS.inc(p.events)
        metrics.BLOCKS.set(p.block)
        metrics.HEAD.set(p.head)
        now = time.monotonic()
        if now - last[0] < (0.25 if tty else 2.0) and p.block < p.head:
            return
        last[0] = now
        rate_events = p.events_total / p.elapsed if p.elapsed else 0.0
        remaining = max(0, p.head - p.block)
        if tty:
            line = (
                f"block {p.block}/{p.head}  {remaining} behind  {p.events_total} events  "
                f"{rate_events:,.0f} events/s"
            )
            sys.stderr.write(f"\r{line}   ")
            sys.stderr.flush()
        else:
            print(
                json.dumps(
                    {
                        "msg": "indexed",
                        "block": p.block,
                        "head": p.head,
                        "events": p.events_total,
                        "events_per_s": round(rate_events),
                    }
                ),
                flush=True,
            )

    return show


def build(
    settings: Settings,
    *,
    from_block: int | None = None,
    reset: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    standby: threading.Event | None = None,
) -> IndexerService:
    """The configured indexer. With `standby` (the stop event), a second indexer waits for the
    leader's lock instead of exiting, and takes over when the leader dies."""
    rpc = RpcClient(settings.effective_rpc_url)
    chain_id = rpc.chain_id()
    path = record_path(chain_id, data_dir=settings.data_dir, deployments_dir=settings.deployments_dir)
    record = load_record(path)
    if record is None:
        raise NoDeployment(
            f"no deployment record for chain {chain_id} at {path}: deploy first (`skillchain deploy`)"
        )
    engine = make_engine(settings.effective_database_url, bulk_writer=True)
    upgrade(engine)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    release = acquire_leader_lock(
        engine, str(settings.data_dir / f"indexer-{chain_id}.lock"), chain_id=chain_id, standby=standby
    )
    config = IndexerConfig.from_record(
        record,
        finality_depth=settings.finality_depth,
        poll_interval=settings.index_poll_interval,
        offload_min_events=None if settings.index_helper_min_events < 0 else settings.index_helper_min_events,
    )
    if from_block is not None:
        config.start_block = from_block
    if reset:
        with engine.begin() as conn:
            reset_chain(conn, chain_id)
    bus = open_bus(settings.effective_database_url, settings.redis_url)
    indexer = Indexer(engine, rpc, config, on_progress=on_progress, wake=bus.wake)
    return IndexerService(indexer, engine, release)
