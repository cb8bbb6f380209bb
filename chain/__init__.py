"""Python side of the contracts: toolchain, artifacts, deployment records, local chain, deployment."""
