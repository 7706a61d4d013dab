"""Brokers: device presence and cross-process wake-ups, in-process or through Redis."""
