"""Small named values the service keeps about itself (for example the secret-key check)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from tidings.store.tables import meta


def get_meta(conn: Connection, name: str) -> str | None:
    return conn.execute(select(meta.c.value).where(meta.c.name == name)).scalar()


def put_meta(conn: Connection, name: str, value: str) -> None:
    conn.execute(insert(meta).values(name=name, value=value))
