"""Content addressing identical to Kubo's `ipfs add`, an embedded blockstore, CAR files, a Kubo RPC
client, a trustless gateway and the metadata documents whose digests the contracts store."""
