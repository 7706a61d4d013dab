"""Replay protection: a signature nonce is accepted once per AccessKey within its window.

The window is twice the allowed clock skew, so a request can never be replayed while its
timestamp is still acceptable. A nonce is recorded only after its signature verified, so forged
requests cannot fill the store. Nonces are recorded in the database, SQLite or PostgreSQL, where
each is claimed exactly once and outlives a restart (an expired one is purged a minute or so after
its window closes).

A verified call's nonce is a ``Nonce`` (store/nonces.py): recorded by the action's own first
write where the action carries it there (``Action.carries_nonce``), else alone; the endpoint
says when.
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
    def pending(self, access_key_id: str, nonce: str) -> store.Nonce:
        """The nonce of a verified call, to be recorded."""
        ...

    async def record(self, nonce: store.Nonce) -> bool:
        """Record the nonce unless recorded already; False when it was seen within the
        window."""
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

    def pending(self, access_key_id: str, nonce: str) -> store.Nonce:
        """The nonce to record; once every ``purge_every`` seconds, one that also purges the
        expired nonces in its transaction (rather than in a write of its own)."""
        now = self._clock()
        purge = now >= self._next_purge
        if purge:
            self._next_purge = now + self._purge_every
        expires = int((now + self._ttl) * 1000)
        return store.Nonce(access_key_id, nonce, int(now * 1000), expires, purge)

    async def record(self, nonce: store.Nonce) -> bool:
        try:
            await store.record(self._db, nonce)
        except store.NonceUsed:
            return False
        return True
