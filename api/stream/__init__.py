"""The live stream: the fan-out of the outbox to signed-in wallets (server-sent events)."""
