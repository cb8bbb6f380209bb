"""Training a model snapshot from the read model, and serving it (the API loads the snapshot)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from matching.data import Marketplace, load
from matching.fraud import RiskReport, signals
from matching.recommend import Recommender


def snapshot_dir(data_dir: Path) -> Path:
    return data_dir / "matching"


def train(
    engine: Engine, chain_id: int, data_dir: Path, *, relayers: set[str], log: Callable[[str], None] = print
) -> Recommender:
    started = time.monotonic()
    log("loading engagements, reviews, listings and credentials from the database ...")
    market = load(engine, chain_id, relayers)
    counts = (len(market.engagements), len(market.reviews), len(market.listings), len(market.credentials))
    log("  {} engagements, {} reviews, {} listings, {} credentials".format(*counts))
    log("training (content index, ALS factors, quality prior, fraud signals) ...")
    model = Recommender.train(market)
    model.save(snapshot_dir(data_dir))
    log(f"snapshot written to {snapshot_dir(data_dir)} in {time.monotonic() - started:.1f} s")
    return model


def risk(engine: Engine, chain_id: int, relayers: set[str]) -> tuple[Marketplace, dict[str, RiskReport]]:
    market = load(engine, chain_id, relayers)
    return market, signals(market)
