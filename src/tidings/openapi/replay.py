"""Replay protection: a signature nonce is accepted once per AccessKey within its window.

The window is twice the allowed clock skew, so a request can never be replayed while its
timestamp is still acceptable. A nonce is recorded only after its signature verified, so forged
requests cannot fill the store. Nonces are recorded in the database, SQLite or PostgreSQL, where
each is claimed exactly once and outlives a restart (an expired one is purged a minute or so after
its window closes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from tidings.store import nonces as store
from tidings.store.database import Database

# The SDKs send 32 hex digits; the shared store's column holds at most this many characters.
MAX_NONCE_LENGTH = 128


class Nonces(Protocol):
    async def remember(self, access_key_id: str, nonce: str) -> bool:
        """Record the nonce; False when it was seen within the window."""
        ...


class DatabaseNonces:
    def __init__(
        self,
        db: Database,
        ttl_seconds: float,
        clock: Callable[[], float] = time.time,
        purge_every: float = 60.0,
    ) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._clock = clock
        self._purge_every = purge_every
        self._next_purge = 0.0

    async def remember(self, access_key_id: str, nonce: str) -> bool:
        now = self._clock()
        if now >= self._next_purge:
            self._next_purge = now + self._purge_every
            await self._db.write(store.purge, int(now * 1000))
        expires = int((now + self._ttl) * 1000)
        return await self._db.write(store.claim, access_key_id, nonce, int(now * 1000), expires)
