"""Queries for signature nonces: kept in the database on SQLite as on PostgreSQL, so a request
captured before a restart cannot be replayed after it."""

from __future__ import annotations

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite

from tidings.store.tables import nonces


def claim(conn: Connection, access_key_id: str, nonce: str, now_ms: int, expires_at: int) -> bool:
    """Record the nonce; False when it is recorded already and has not expired."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(nonces).values(
        access_key_id=access_key_id, nonce=nonce, expires_at=expires_at
    )
    query = insert.on_conflict_do_update(
        index_elements=[nonces.c.access_key_id, nonces.c.nonce],
        set_={"expires_at": insert.excluded.expires_at},
        where=nonces.c.expires_at < now_ms,
    ).returning(nonces.c.nonce)
    return conn.execute(query).first() is not None


def purge(conn: Connection, now_ms: int) -> int:
    return conn.execute(delete(nonces).where(nonces.c.expires_at < now_ms)).rowcount
