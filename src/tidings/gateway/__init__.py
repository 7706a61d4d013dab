"""The device gateway: the WebSocket endpoint devices hold open, and the protocol they speak."""
