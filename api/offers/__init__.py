"""Signed offers: terms a provider signs once (EIP-712) and clients fund with no provider transaction."""
