"""The FastAPI application: sign-in with Ethereum, marketplace routes, payments, the IPFS gateway."""
