"""What a device keeps between runs: its credentials and the deliveries it has already seen.

The state lives in a small SQLite database (the ``--state`` file), so each delivery the device
sees is recorded on its own, durably, before it is acknowledged, without rewriting what was
recorded before. A delivery id is kept until its message's validity has run out, plus a day for
clocks that disagree: the server never sends a delivery after that, so a duplicate cannot arrive
later, however many other messages came in between. The file holds the device secret, so it is
created with mode 0600 (SQLite gives its journal files the same mode).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

CLOCK_SLACK_MS = 86_400_000
# A revoke frame names no expiry; the server stops sending revoke frames after seven days.
REVOKE_KEEP_MS = 7 * 86_400_000

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS credentials (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS seen (id INTEGER PRIMARY KEY, keep_until INTEGER NOT NULL)",
)


class DeviceState:
    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time):
        self._clock = clock
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._db = sqlite3.connect(
            ":memory:" if path is None else path, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.execute("DELETE FROM seen WHERE keep_until < ?", (self._now_ms(),))
        credentials = dict(self._db.execute("SELECT name, value FROM credentials"))
        self.delivery_token: str | None = credentials.get("deliveryToken")
        self.secret: str | None = credentials.get("secret")
        self._seen = {row[0] for row in self._db.execute("SELECT id FROM seen")}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def save(self) -> None:
        """Record the credentials (after registering)."""
        pairs = (("deliveryToken", self.delivery_token), ("secret", self.secret))
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO credentials (name, value) VALUES (?, ?)",
            [(name, value) for name, value in pairs if value is not None],
        )
        self._db.execute("COMMIT")

    def has_seen(self, delivery_id: int) -> bool:
        return delivery_id in self._seen

    def remember(self, delivery_id: int, expires_at: int | None = None) -> None:
        """Record a delivery as seen, until ``expires_at`` (epoch ms) and the clock slack; one
        named by a revoke frame alone (no expiry known) is kept as long as revocations last."""
        keep_until = (
            expires_at + CLOCK_SLACK_MS
            if expires_at is not None
            else self._now_ms() + REVOKE_KEEP_MS
        )
        self._db.execute(
            "INSERT OR REPLACE INTO seen (id, keep_until) VALUES (?, ?)", (delivery_id, keep_until)
        )
        self._seen.add(delivery_id)

    def close(self) -> None:
        self._db.close()
