"""The real-time backbone: the outbox (what users' live streams carry, written with its cause) and
the bus that wakes the API replicas when it grows."""
