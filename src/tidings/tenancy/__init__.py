"""Workspaces, apps and the AccessKeys that may act on them."""
