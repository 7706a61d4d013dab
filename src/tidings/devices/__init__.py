"""Devices: registration, secrets, user bindings, vendor tokens and presence."""
