"""Events -> SQL read model: fetch (eth_getLogs), decode (from the ABIs), project, handle reorgs,
checkpoint — each batch's rows and its checkpoint in one transaction."""
