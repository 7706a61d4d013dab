"""Queries for signature nonces: kept in the database on SQLite as on PostgreSQL, so a request
captured before a restart cannot be replayed after it.

A call's nonce is recorded in the transaction of the call's own first write where the call has
one (``Nonce``, ``write_claiming``): recorded in a transaction of its own before the action, it
cost every write call a second turn behind the group-commit writer and a second fsync (of a
78 ms PushMultiple on the APNs bench, 38 ms were the nonce's write and 32 ms the push's).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, delete

from tidings.store.database import Database
from tidings.store.plain import fetch_refusable, mark
from tidings.store.tables import nonces

T = TypeVar("T")


class NonceUsed(Exception):
    """The nonce was recorded already within its window: the call is a replay."""


@dataclass(slots=True)
class Nonce:
    """A verified call's nonce, not recorded yet: recorded once, by the first of the call's
    writes that commits (``write_claiming``), or alone (``record``) where none did.

    ``purge`` asks that the nonces whose window has closed be deleted in the same transaction
    (openapi/replay.py decides how often); a transaction that rolls back leaves them for the next
    purge. ``recorded`` is set only once the recording transaction committed: a write that fails
    or rolls back (a msgKey used already, a savepoint of store/database.py's ``_apart``) takes
    the nonce back with it, so it is still to be recorded.
    """

    access_key_id: str
    nonce: str
    now_ms: int
    expires_at: int
    purge: bool = False
    recorded: bool = False

    def record(self, conn: Connection) -> None:
        """Record the nonce in ``conn``'s transaction; NonceUsed for a replay, which the
        caller's transaction (or savepoint) then rolls back, its own writes with it."""
        if self.purge:
            purge(conn, self.now_ms)
        if not claim(conn, self.access_key_id, self.nonce, self.now_ms, self.expires_at):
            raise NonceUsed

    def then(self, conn: Connection, work: Callable[..., T], *args: Any) -> T:
        """``work(conn, *args)`` after recording the nonce, in one transaction: a replay fails
        before ``work`` writes anything."""
        self.record(conn)
        return work(conn, *args)


async def write_claiming(
    db: Database, nonce: Nonce | None, work: Callable[..., T], *args: Any
) -> T:
    """``db.write(work, *args)``, recording ``nonce`` in the same transaction first unless it
    is None (a call that carries no nonce: the console's) or recorded already; NonceUsed for a
    replay, with nothing written."""
    if nonce is None or nonce.recorded:
        return await db.write(work, *args)
    result = await db.write(nonce.then, work, *args)
    nonce.recorded = True
    return result


async def record(db: Database, nonce: Nonce) -> None:
    """Record ``nonce`` alone unless a write of its call recorded it already (no transaction
    then); NonceUsed for a replay."""
    if not nonce.recorded:
        await db.write(nonce.record)
        nonce.recorded = True


def claim(conn: Connection, access_key_id: str, nonce: str, now_ms: int, expires_at: int) -> bool:
    """Record the nonce; False when it is recorded already and has not expired.

    Written as text and run through the driver (store/plain.py, ``fetch_refusable``): every
    signed call claims one."""
    values = (access_key_id, nonce, expires_at, now_ms)
    return bool(fetch_refusable(conn, _claim_sql(mark(conn)), values))


@functools.lru_cache(maxsize=4)
def _claim_sql(mark: str) -> str:
    """An insert that, on a conflict, takes over only an expired nonce (SQLite and PostgreSQL
    spell the upsert alike)."""
    return (
        f"INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES ({mark}, {mark}, {mark})"
        " ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at"
        f" WHERE nonces.expires_at < {mark} RETURNING nonce"
    )


def purge(conn: Connection, now_ms: int) -> int:
    return conn.execute(delete(nonces).where(nonces.c.expires_at < now_ms)).rowcount
