"""Analytics: counters kept with the deliveries, the MPS analysis queries, message traces."""
