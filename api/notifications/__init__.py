"""In-app notifications: what concerns the signed-in wallet, with read state (written by the indexer)."""
