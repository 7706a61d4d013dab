"""Signing webhook requests the way the Standard Webhooks specification says, so a receiver can
check them with any of its libraries.

A secret is ``whsec_`` and the base64 of random key bytes. A request carries ``webhook-id``
(the message id, the same on every attempt), ``webhook-timestamp`` (seconds) and
``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256 over ``id.timestamp.body`` with
the key, once per secret in force, space-separated, so during a rotation a receiver that knows
either secret accepts the request. Pure functions: no clock, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
KEY_BYTES = 24


class SecretError(ValueError):
    """A secret that is not ``whsec_`` followed by base64."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret."""
    if not secret.startswith(PREFIX):
        raise SecretError(f"a webhook secret starts with {PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except ValueError:
        raise SecretError("a webhook secret is whsec_ followed by base64") from None
    if len(key) < 16:
        raise SecretError("a webhook secret holds at least 16 bytes")
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_in_force: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict:
    """The three headers of a request, signed with every secret in force."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, msg_id, timestamp, body) for secret in secrets_in_force
        ),
    }
