"""The gateway service: the shop's only public entry (JWT check, routing, aggregation)."""
