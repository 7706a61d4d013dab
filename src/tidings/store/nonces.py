"""Queries for signature nonces: kept in the database on SQLite as on PostgreSQL, so a request
captured before a restart cannot be replayed after it."""

from __future__ import annotations

import functools

from sqlalchemy import Connection, delete

from tidings.store.plain import fetch_refusable, mark
from tidings.store.tables import nonces


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
