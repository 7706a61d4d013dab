"""The push actions: their rules, and acceptance of their tasks and messages."""
