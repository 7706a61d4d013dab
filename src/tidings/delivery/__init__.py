"""Delivery: due tasks become deliveries, deliveries go out through channels, outcomes return."""
