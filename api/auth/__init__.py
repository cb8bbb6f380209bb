"""Sign-In with Ethereum (EIP-4361): a pure verification layer and the HTTP routes on top of it."""
