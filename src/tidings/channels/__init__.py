"""Channels: the ways a delivery reaches a device (self-built WebSocket, vendor gateways)."""
