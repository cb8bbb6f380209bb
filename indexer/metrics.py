"""Prometheus metrics of the indexer (exposed with `skillchain index --metrics-port`, and by the API)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS = Counter("skillchain_indexer_events_total", "Contract events indexed")
BLOCKS = Gauge("skillchain_indexer_block", "Last indexed block")
HEAD = Gauge("skillchain_indexer_head", "Chain head seen by the indexer")
REORGS = Counter("skillchain_indexer_reorgs_total", "Reorgs rolled back")
RPC_RETRIES = Gauge("skillchain_indexer_rpc_retries", "RPC calls retried since start")
