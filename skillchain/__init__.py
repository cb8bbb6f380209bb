"""Skillchain: backend of a peer-to-peer skill-sharing marketplace on Ethereum."""

__version__ = "0.1.0"
