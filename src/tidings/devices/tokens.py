"""DeliveryTokens and device secrets.

A DeliveryToken is an address: the app server holds it, passes it to PushBind and targets pushes
at it, so it must not be what lets a connection receive the device's messages. Resuming takes
the secret too, which only the device ever held. Only a hash of the secret is stored. Both are
256-bit random values, so a single SHA-256 is as good as a slow password hash here: there is no
small space of likely secrets to search.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_hex(16)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(secret: str, stored: bytes | None) -> bool:
    """Constant-time check; a device without a stored secret (reported, never registered) has
    no secret that matches."""
    if stored is None:
        return False
    return hmac.compare_digest(hash_secret(secret), stored)
